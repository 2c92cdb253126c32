import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from './release-poller.ts';
import { timeRollback } from './rollback-timing.ts';

const at = (receivedAt: number, release: string): Sample => ({
  sentAt: receivedAt - 1,
  receivedAt,
  release,
  status: 200,
});

void test('first is the first answer of the new release; 100 % the last answer of the old one', () => {
  const samples = [at(99, 'v2'), at(103, 'v2'), at(105, 'v1'), at(107, 'v2'), at(110, 'v1')];
  const row = timeRollback('cli', 'v2', 100, 40, { release: 'v1', durationMs: 2.5 }, samples);
  assert.equal(row.to, 'v1');
  assert.equal(row.firstMs, 5);
  assert.equal(row.allMs, 7);
  assert.equal(row.commandMs, 40);
  assert.equal(row.reportedMs, 2.5);
});

void test('without a release in the answer, the last release seen is the target', () => {
  const row = timeRollback('cli', 'v2', 0, 1, {}, [at(4, 'v1'), at(6, 'v1')]);
  assert.equal(row.to, 'v1');
  assert.equal(row.allMs, 4);
  assert.equal(row.reportedMs, null);
});

void test('a rollback that changed nothing, or that no poller saw, is an error', () => {
  assert.throws(() => timeRollback('cli', 'v2', 0, 1, {}, [at(4, 'v2')]), /did not change/);
  assert.throws(
    () => timeRollback('cli', 'v2', 10, 1, { release: 'v1' }, [at(4, 'v1')]),
    /no response from v1/,
  );
});
