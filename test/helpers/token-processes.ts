// Finds the processes whose environment holds `CUTOVER_TEST_TOKEN=<token>` (proc(5): environ,
// stat), so a crash test can tell a recorded instance from an orphan, and end every process
// its daemons started when it is done. Zombies hold nothing and are left out.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { isZombie, readProcessStat } from '../../src/adapters/runtime/process/proc-stat.ts';

export interface TokenProcess {
  readonly pid: number;
  readonly pgid: number;
}

const KILL_WAIT_MS = 5_000;
const POLL_MS = 50;

export async function processesWithToken(token: string): Promise<TokenProcess[]> {
  const marker = Buffer.from(`CUTOVER_TEST_TOKEN=${token}\0`);
  const found: TokenProcess[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    let environ: Buffer;
    try {
      environ = await readFile(`/proc/${name}/environ`);
    } catch {
      continue; // Gone, or not ours to read.
    }
    if (!environ.includes(marker)) continue;
    const stat = await readProcessStat(pid);
    if (stat === null || isZombie(stat)) continue;
    found.push({ pid, pgid: stat.pgrp });
  }
  return found;
}

/** SIGKILLs every live process carrying the token and waits (bounded) until none is left. */
export async function killProcessesWithToken(token: string): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const left = await processesWithToken(token);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`processes of test token ${token} outlived SIGKILL: ${JSON.stringify(left)}`);
    }
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await delay(POLL_MS);
  }
}
