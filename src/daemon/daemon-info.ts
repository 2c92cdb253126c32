// `<data-dir>/daemon.json`: where a running daemon can be reached. Written atomically (temp file,
// fsync, rename, fsync of the directory) once every listener is bound, so the CLI, tests and
// benchmarks can read the real ports (port 0 in tests) and never see a half-written file.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DaemonInfo {
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
  readonly public: { readonly host: string; readonly port: number };
  readonly preview: { readonly host: string; readonly port: number };
  readonly admin: {
    readonly socket: string;
    /** Present when the loopback TCP admin listener is on; the token is never written here. */
    readonly tcp?: { readonly host: string; readonly port: number; readonly url: string };
  };
}

export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // The rename is durable only once the directory entry is synced.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function writeDaemonInfo(path: string, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(info, null, 2)}\n`);
}

export async function readDaemonInfo(path: string): Promise<DaemonInfo | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DaemonInfo;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Removes daemon.json only if it still describes this process (a newer daemon may own it). */
export async function removeDaemonInfo(path: string, pid: number): Promise<void> {
  const info = await readDaemonInfo(path).catch(() => null);
  if (info?.pid === pid) await unlink(path).catch(() => undefined);
}
