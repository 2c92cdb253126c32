import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TrafficSplit } from '../core/types.ts';
import { SPLIT_BUCKETS } from '../core/types.ts';
import {
  bucketCookie,
  chooseSplit,
  cookieValue,
  parseBucket,
  splitCookieName,
  splitThreshold,
} from './split-choice.ts';

function split(percent: number, overrides: Partial<TrafficSplit> = {}): TrafficSplit {
  return {
    color: 'green',
    percent,
    sticky: true,
    allow: { header: null, cookie: null },
    ...overrides,
  };
}

/** A random source that always answers `value`: the drawn bucket is floor(value * 10000). */
const fixed = (value: number) => () => value;
const never = () => {
  throw new Error('the choice must not draw');
};

const percentArb = fc.integer({ min: 0, max: 10_000 }).map((basisPoints) => basisPoints / 100);
const bucketArb = fc.integer({ min: 0, max: SPLIT_BUCKETS - 1 });

describe('splitThreshold', () => {
  it('is exact for percents with two decimals and clamps the rest', () => {
    assert.equal(splitThreshold(0), 0);
    assert.equal(splitThreshold(0.5), 50);
    assert.equal(splitThreshold(5), 500);
    assert.equal(splitThreshold(12.34), 1234);
    assert.equal(splitThreshold(100), SPLIT_BUCKETS);
    assert.equal(splitThreshold(150), SPLIT_BUCKETS);
    assert.equal(splitThreshold(-1), 0);
    assert.equal(splitThreshold(Number.NaN), 0);
  });
});

describe('parseBucket', () => {
  it('takes plain decimals under the bucket count only', () => {
    assert.equal(parseBucket('0'), 0);
    assert.equal(parseBucket('42'), 42);
    assert.equal(parseBucket('9999'), 9999);
    for (const bad of ['', '10000', '-1', '01', '1.5', ' 1', '1e3', '0x10', 'abc', '99999']) {
      assert.equal(parseBucket(bad), null, bad);
    }
  });
});

describe('cookieValue', () => {
  it('reads the first pair of that name across every Cookie field', () => {
    const fields = {
      rawHeaders: ['Host', 'x', 'Cookie', 'a=1; cutover_shop=12', 'cookie', 'cutover_shop=13'],
    };
    assert.equal(cookieValue(fields, 'cutover_shop'), '12');
    assert.equal(cookieValue(fields, 'a'), '1');
    assert.equal(cookieValue(fields, 'b'), undefined);
  });

  it('skips pairs without "=", trims OWS and unwraps a quoted value', () => {
    const fields = { rawHeaders: ['Cookie', 'junk;  name = "v" ;other=2'] };
    assert.equal(cookieValue(fields, 'name'), 'v');
    assert.equal(cookieValue(fields, 'junk'), undefined);
  });
});

describe('chooseSplit', () => {
  it('sends an allowlisted header or cookie to the split color at any percent', () => {
    const allow = {
      header: { name: 'X-Canary', value: 'yes' },
      cookie: { name: 'tester', value: 'on' },
    };
    const s = split(0, { allow });
    const byHeader = chooseSplit(s, 'shop', { rawHeaders: ['x-canary', ' yes'] }, never);
    assert.deepEqual(byHeader, { toSplit: true, newBucket: null });
    const byCookie = chooseSplit(s, 'shop', { rawHeaders: ['Cookie', 'tester=on'] }, never);
    assert.deepEqual(byCookie, { toSplit: true, newBucket: null });
    const wrong = chooseSplit(s, 'shop', { rawHeaders: ['X-Canary', 'no'] }, fixed(0));
    assert.deepEqual(wrong, { toSplit: false, newBucket: 0 });
  });

  it('draws a fresh bucket for a client without a valid cookie', () => {
    const fresh = chooseSplit(split(5), 'shop', { rawHeaders: [] }, fixed(0.0499));
    assert.deepEqual(fresh, { toSplit: true, newBucket: 499 });
    const above = chooseSplit(split(5), 'shop', { rawHeaders: [] }, fixed(0.05));
    assert.deepEqual(above, { toSplit: false, newBucket: 500 });
  });

  it('keeps a client on its bucket, and never draws for it', () => {
    const fields = { rawHeaders: ['Cookie', 'cutover_shop=499'] };
    assert.deepEqual(chooseSplit(split(5), 'shop', fields, never), {
      toSplit: true,
      newBucket: null,
    });
    assert.deepEqual(chooseSplit(split(4.99), 'shop', fields, never), {
      toSplit: false,
      newBucket: null,
    });
    // Another app's cookie is not this app's bucket.
    const other = chooseSplit(split(5), 'cart', fields, fixed(0.9));
    assert.deepEqual(other, { toSplit: false, newBucket: 9000 });
  });

  it('chooses per request without a cookie when not sticky', () => {
    const s = split(30, { sticky: false });
    const fields = { rawHeaders: ['Cookie', 'cutover_shop=0'] };
    assert.deepEqual(chooseSplit(s, 'shop', fields, fixed(0.29)), {
      toSplit: true,
      newBucket: null,
    });
    assert.deepEqual(chooseSplit(s, 'shop', fields, fixed(0.31)), {
      toSplit: false,
      newBucket: null,
    });
  });

  it('property: raising the percent never moves a client off the split color', () => {
    fc.assert(
      fc.property(percentArb, percentArb, bucketArb, (a, b, bucket) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const fields = { rawHeaders: ['Cookie', `cutover_shop=${bucket}`] };
        const before = chooseSplit(split(low), 'shop', fields, never);
        const after = chooseSplit(split(high), 'shop', fields, never);
        return !before.toSplit || after.toSplit;
      }),
    );
  });

  it('property: a fresh client keeps its drawn bucket, and the bucket decides', () => {
    fc.assert(
      fc.property(
        percentArb,
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (p, r) => {
          const first = chooseSplit(split(p), 'shop', { rawHeaders: [] }, () => r);
          if (first.newBucket === null) return false;
          const again = chooseSplit(
            split(p),
            'shop',
            { rawHeaders: ['Cookie', `cutover_shop=${first.newBucket}`] },
            never,
          );
          return (
            again.newBucket === null &&
            again.toSplit === first.toSplit &&
            first.toSplit === first.newBucket < splitThreshold(p)
          );
        },
      ),
    );
  });

  it('property: the allowlist wins over any bucket and any percent', () => {
    const allow = { header: { name: 'X-Canary', value: '1' }, cookie: null };
    fc.assert(
      fc.property(percentArb, bucketArb, fc.boolean(), (p, bucket, sticky) => {
        const fields = { rawHeaders: ['Cookie', `cutover_shop=${bucket}`, 'x-canary', '1'] };
        return chooseSplit(split(p, { allow, sticky }), 'shop', fields, never).toSplit;
      }),
    );
  });

  it('property: a malformed bucket cookie is treated as absent (a fresh bucket)', () => {
    const malformed = fc
      .string({ maxLength: 8 })
      // The cookie reader trims the whitespace around a value (RFC 6265 section 5.4): `0 ` is 0.
      .filter((value) => parseBucket(value.trim()) === null && !value.includes(';'));
    fc.assert(
      fc.property(malformed, percentArb, (value, p) => {
        const fields = { rawHeaders: ['Cookie', `cutover_shop=${value}`] };
        const choice = chooseSplit(split(p), 'shop', fields, fixed(0.5));
        return choice.newBucket === 5000 && choice.toSplit === 5000 < splitThreshold(p);
      }),
    );
  });
});

describe('bucketCookie', () => {
  it('sets the bucket for the whole site, HttpOnly, SameSite=Lax, with a Max-Age', () => {
    assert.equal(splitCookieName('shop'), 'cutover_shop');
    assert.equal(
      bucketCookie('shop', 42),
      'cutover_shop=42; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax',
    );
  });
});
