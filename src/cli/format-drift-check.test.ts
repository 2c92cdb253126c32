import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriftCheckReport, DriftDifference } from '../client/api-types.ts';
import { driftCheckLines } from './format-drift-check.ts';

function difference(key: string, expected: DriftDifference['expected']): DriftDifference {
  return {
    key,
    change: 'changed',
    from: 'a',
    to: 'b',
    secret: { from: false, to: false },
    expected,
  };
}

function check(
  patch: Partial<DriftCheckReport>,
  differences: readonly DriftDifference[],
): DriftCheckReport {
  return {
    enforced: true,
    passed: true,
    note: null,
    comparison: {
      from: { release: 'v2', color: 'blue', takenAt: 't1' },
      to: { release: 'v3', color: null, takenAt: 't2' },
      differences,
      drift: differences.filter((each) => each.expected === null).length,
    },
    ...patch,
  };
}

const RELEASE = difference('release', { by: 'release', pattern: 'release' });
const VERSION = difference('env.SHOP_VERSION', { by: 'drift.expect', pattern: 'env.SHOP_*' });
const URL = difference('env.PAYMENTS_URL', null);

void test('nothing without a drift check or without a live release to compare with', () => {
  assert.deepEqual(driftCheckLines({}), []);
  assert.deepEqual(driftCheckLines({ drift: check({ comparison: null }, []) }), []);
});

void test('expected differences only: one line, the release id not counted', () => {
  assert.deepEqual(driftCheckLines({ drift: check({}, [RELEASE, VERSION]) }, 4), [
    '    drift check against v2: 1 key differs, 1 expected',
  ]);
});

void test('refused, accepted drift and unenforced drift are told apart', () => {
  const keys = [RELEASE, VERSION, URL];
  assert.deepEqual(driftCheckLines({ drift: check({ passed: false }, keys) }), [
    '  drift check against v2: 2 keys differ, 1 expected, 1 refused: env.PAYMENTS_URL',
  ]);
  assert.deepEqual(driftCheckLines({ drift: check({ enforced: false }, keys) }), [
    '  drift check against v2: 2 keys differ, 1 expected, 1 reported, not refused (drift.enforce: false): env.PAYMENTS_URL',
  ]);
});
