import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RollingBatchView, RollingReport } from '../client/api-types.ts';
import { rollingLines } from './format-rolling.ts';

const NOTE = 'no instant rollback: rolling replaces the live instances in place';

function batch(index: number, percent: number, ok = true): RollingBatchView {
  return {
    index,
    started: 1,
    removed: 1,
    percent,
    fresh: index + 1,
    old: 2 - index,
    ok,
    reason: ok ? null : `batch ${index + 1}: probe GET /: status 500`,
    probes: 8,
    watchedMs: 1000,
  };
}

const ROLLED: RollingReport = {
  note: NOTE,
  batch: 1,
  liveTarget: 3,
  target: 3,
  batches: [batch(0, 33.33), batch(1, 66.67), batch(2, 100)],
  restored: null,
};

void describe('rollingLines', () => {
  it('says the shares of the batches and that there is no instant rollback', () => {
    assert.deepEqual(rollingLines({ rolling: ROLLED }, 4), [
      '    rolling: 3 batches of 1 (33.33%, 66.67%, 100%), 3 instances replaced by 3',
      `    ${NOTE}`,
    ]);
  });

  it('names the failed batch and how the old release came back', () => {
    const failed: RollingReport = {
      ...ROLLED,
      batches: [batch(0, 33.33, false)],
      restored: {
        reason: 'batch 1: probe GET /: status 500',
        started: 1,
        stopped: 0,
        live: 2,
        problem: '1 instances of v1 could not be started again: port taken',
      },
    };
    assert.deepEqual(rollingLines({ rolling: failed }), [
      '  rolling: 1 batch of 1 (33.33%), 3 instances replaced by 3',
      '    \u2717 batch 1: probe GET /: status 500',
      '  back to the old release: 2 of 3 instances serve (1 started again): 1 instances of v1 could not be started again: port taken',
      `  ${NOTE}`,
    ]);
  });

  it('has nothing to say about other strategies', () => {
    assert.deepEqual(rollingLines({}), []);
  });
});
