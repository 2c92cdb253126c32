import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  hasLiveGroupMember,
  isSameProcessAlive,
  parseProcessStat,
  readProcessStat,
} from './proc-stat.ts';

void it('counts fields from the last parenthesis, whatever the command name holds', () => {
  const tail = '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 424242 19 20';
  const stat = parseProcessStat(`1234 (we ird) (name)) S ${tail}\n`);
  assert.deepEqual(stat, { state: 'S', pgrp: 1, startTimeTicks: '424242' });
  assert.equal(parseProcessStat('1234 no parenthesis'), null);
  assert.equal(parseProcessStat('1234 (short) S 1 2'), null);
});

void it('reads this process and refuses another start time', async () => {
  const stat = await readProcessStat(process.pid);
  assert.ok(stat !== null);
  assert.equal(await hasLiveGroupMember(stat.pgrp), true);
  assert.equal(await hasLiveGroupMember(2 ** 23), false);
  assert.equal(await isSameProcessAlive(process.pid, stat.startTimeTicks), true);
  assert.equal(await isSameProcessAlive(process.pid, `${stat.startTimeTicks}1`), false);
  // Above the kernel's pid_max (at most 2^22): no such process.
  assert.equal(await readProcessStat(2 ** 23), null);
});
