// Signals a whole process group (kill(2) with a negative pid), so a start command's children
// (`/bin/sh -c "npm start"` -> npm -> node) stop with it. Linux does not reuse a pid while a
// process group of that number exists, so a group id stays safe to signal while it is alive.
import { setTimeout as sleep } from 'node:timers/promises';
import { hasLiveGroupMember } from './proc-stat.ts';

const GROUP_POLL_MS = 20;

/** Sends `signal` to the group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // kill(0) and kill(-1) mean "my own group" and "everyone": never from a bad record.
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** True while a process of the group runs; zombies waiting for a slow init do not count. */
export async function isGroupAlive(pgid: number): Promise<boolean> {
  return signalGroup(pgid, 0) && (await hasLiveGroupMember(pgid));
}

/** Resolves true once no process of the group is left, false if some remain after `timeoutMs`. */
export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (await isGroupAlive(pgid)) {
    if (performance.now() >= deadline) return false;
    await sleep(GROUP_POLL_MS);
  }
  return true;
}
