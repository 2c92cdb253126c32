import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, medianRatio, percentile } from './stats.ts';

test('median of odd and even counts, ignoring NaN', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([Number.NaN, 5]), 5);
  assert.ok(Number.isNaN(median([])));
});

test('percentile by nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile(values, 0), 1);
});

test('medianRatio pairs the runs of one round', () => {
  // Round 2 is slow for both (a noisy neighbour): pairing keeps the ratio at 0.5.
  assert.equal(medianRatio([50, 10, 52], [100, 20, 104]), 0.5);
});
