import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Color } from '../../core/types.ts';
import { trafficSharesOf } from './admin-metrics-share.ts';
import type { ShareSource } from './admin-metrics-share.ts';

function app(
  live: Color | null,
  split: { color: Color; percent: number } | null,
  releases: Record<Color, string | null> = { blue: 'v1', green: 'v2' },
): ShareSource {
  return {
    name: 'shop',
    live,
    split:
      split === null ? null : { ...split, sticky: true, allow: { header: null, cookie: null } },
    colors: { blue: { release: releases.blue }, green: { release: releases.green } },
  };
}

describe('trafficSharesOf', () => {
  it('puts everything on the live color without a split', () => {
    assert.deepEqual(trafficSharesOf(app('green', null)), { blue: 0, green: 1 });
  });

  it("puts the split's percent on its color and the rest on live; the shares sum to 1", () => {
    for (const percent of [0.01, 5, 12.34, 33.33, 50, 99.99]) {
      const shares = trafficSharesOf(app('blue', { color: 'green', percent }));
      assert.equal(shares.green, Math.round(percent * 100) / 10_000);
      assert.equal(shares.blue + shares.green, 1, `at ${percent} %`);
    }
    assert.deepEqual(trafficSharesOf(app('blue', { color: 'green', percent: 100 })), {
      blue: 0,
      green: 1,
    });
  });

  it('ignores a split the router ignores: on the live color, or onto a color without a release', () => {
    assert.deepEqual(trafficSharesOf(app('blue', { color: 'blue', percent: 40 })), {
      blue: 1,
      green: 0,
    });
    const empty = app('blue', { color: 'green', percent: 40 }, { blue: 'v1', green: null });
    assert.deepEqual(trafficSharesOf(empty), { blue: 1, green: 0 });
  });

  it('gives no color a share while nothing is live', () => {
    assert.deepEqual(trafficSharesOf(app(null, { color: 'green', percent: 40 })), {
      blue: 0,
      green: 0,
    });
  });
});
