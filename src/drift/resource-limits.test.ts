import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcLimits, readResourceLimits } from './resource-limits.ts';

const SAMPLE = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max stack size            8388608              unlimited            bytes
Max processes             63412                63412                processes
Max open files            1024                 1048576              files
Max locked memory         8388608              8388608              bytes
`;

void test('the soft limits of proc(5) limits become keys', () => {
  assert.deepEqual(parseProcLimits(SAMPLE), {
    cpu: 'unlimited',
    stack: '8388608',
    nproc: '63412',
    nofile: '1024',
    memlock: '8388608',
  });
});

void test("the daemon's own limits are read; a missing file gives none, not an error", async () => {
  const own = await readResourceLimits();
  assert.match(own.nofile ?? '', /^(\d+|unlimited)$/);
  assert.deepEqual(await readResourceLimits('/nonexistent/limits'), {});
});
