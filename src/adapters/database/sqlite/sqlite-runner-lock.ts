// The SQLite stand-in for PostgreSQL's advisory lock: a lock file beside the database
// (`<db>.cutover-lock`, created with O_EXCL, holding the owner's pid) so two cutover runners on
// this host never interleave. SQLite databases are local files, so a pid check is enough to take
// over the lock of a runner that died.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

const POLL_MS = 25;
/** A lock file without a pid (its writer died between create and write) is stale after this. */
const EMPTY_LOCK_STALE_MS = 5_000;

export async function acquireRunnerLock(dbPath: string): Promise<() => Promise<void>> {
  const path = `${dbPath}.cutover-lock`;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return () => unlink(path).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(path)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    await delay(POLL_MS);
  }
}

async function isStale(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false; // Gone already: the next create decides.
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > EMPTY_LOCK_STALE_MS;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
