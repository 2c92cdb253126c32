// One daemon per data directory: a pid file created exclusively. A second daemon is refused with
// the first one's pid; a pid file left by a dead process (kill -9) is taken over.
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CutoverError } from '../core/errors.ts';

export interface PidLock {
  readonly path: string;
  /** True when a stale lock of a dead daemon was taken over. */
  readonly tookOver: boolean;
  release(): Promise<void>;
}

const MAX_ATTEMPTS = 5;
const EMPTY_PID_RECHECK_MS = 100;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to someone else: still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(path: string): Promise<number | null> {
  try {
    const text = await readFile(path, 'utf8');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function createExclusive(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Moves a stale pid file aside. The rename is atomic, so of two daemons taking over the same
 * stale file only the one that moved the dead pid proceeds; if we moved a live daemon's fresh
 * file by accident, it is linked back (link never overwrites).
 */
async function takeOver(path: string, stalePid: number | null): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readPid(aside);
  if (moved !== stalePid) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

export async function acquirePidLock(path: string): Promise<PidLock> {
  let tookOver = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createExclusive(path)) {
      return {
        path,
        tookOver,
        async release() {
          if ((await readPid(path)) === process.pid) await unlink(path).catch(() => undefined);
        },
      };
    }
    let pid = await readPid(path);
    if (pid === null) {
      // Possibly a daemon between its exclusive create and its write: look again shortly.
      await delay(EMPTY_PID_RECHECK_MS);
      pid = await readPid(path);
    }
    if (pid !== null && pid !== process.pid && isAlive(pid)) {
      throw new CutoverError(
        'CUTOVER_ERR_DAEMON_ALREADY_RUNNING',
        `Another cutover daemon (pid ${pid}) is already running on this data dir (${path}): ` +
          'stop it first, or pass another --data-dir.',
        { pid },
      );
    }
    // A dead daemon's pid file (or an empty one from a crash mid-write): take it over.
    await takeOver(path, pid);
    tookOver = true;
  }
  throw new CutoverError(
    'CUTOVER_ERR_DAEMON_ALREADY_RUNNING',
    `Could not take the daemon lock ${path}: other daemons are starting on this data dir at the same time.`,
  );
}
