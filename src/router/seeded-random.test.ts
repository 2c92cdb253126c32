import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './seeded-random.ts';

describe('seededRandom', () => {
  it('repeats its sequence for one seed and differs for another', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const first = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b()),
      first,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c()),
      first,
    );
  });

  it('is uniform in [0, 1): ten bins within 1.5 points of 10 % over 100,000 draws', () => {
    const random = seededRandom(12345);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random();
      assert.ok(value >= 0 && value < 1);
      bins[Math.floor(value * 10)]! += 1;
    }
    for (const count of bins) assert.ok(Math.abs(count / 1000 - 10) < 1.5, String(count));
  });
});
