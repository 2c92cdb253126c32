import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { childCpuMs, parseChildCpuMs } from './child-cpu.ts';

void test('cutime and cstime are read after the command name, even one with spaces and parens', () => {
  const stat =
    '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 100 200 0 0 7 3 25 12 20 0 11 0 500 1000 200';
  assert.equal(parseChildCpuMs(stat), (25 + 12) * 10);
});

void test('a finished child that burns CPU raises the children total', () => {
  const before = childCpuMs();
  if (Number.isNaN(before)) return; // No /proc: the bench reports NaN, nothing to check.
  // It spins until it has used 300 ms of CPU itself, however busy the machine is.
  spawnSync(process.execPath, ['-e', 'while (process.cpuUsage().user < 300_000);']);
  const used = childCpuMs() - before;
  assert.ok(used >= 280 && used < 2000, `${used} ms`);
});
