import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';
import { isGroupAlive, signalGroup, waitForGroupExit } from './process-group.ts';

void it('never signals group 0 or 1 (its own group, everyone), and reports a missing group', async () => {
  // Signal 0 would only probe, but a bad record must not even reach kill(0) or kill(-1).
  assert.equal(signalGroup(0, 0), false);
  assert.equal(signalGroup(1, 0), false);
  assert.equal(signalGroup(2 ** 23, 'SIGKILL'), false);
  assert.equal(await isGroupAlive(2 ** 23), false);
});

void it('signals a whole group and waits, within a bound, for it to be gone', async () => {
  // A shell leading its own group with a child in it: both must go.
  const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30; wait'], {
    detached: true,
    stdio: 'ignore',
  });
  await once(child, 'spawn');
  const pgid = child.pid;
  assert.ok(pgid !== undefined);
  assert.equal(await isGroupAlive(pgid), true);
  assert.equal(await waitForGroupExit(pgid, 50), false, 'still running after 50 ms');
  assert.equal(signalGroup(pgid, 'SIGKILL'), true);
  assert.equal(await waitForGroupExit(pgid, 5_000), true);
});
