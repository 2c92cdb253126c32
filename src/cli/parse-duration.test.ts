import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, parseDuration } from './parse-duration.ts';

void test('parses ms, s, m and h, with decimals', () => {
  assert.equal(parseDuration('500ms', '--x'), 500);
  assert.equal(parseDuration('30s', '--x'), 30_000);
  assert.equal(parseDuration('1.5s', '--x'), 1500);
  assert.equal(parseDuration('2m', '--x'), 120_000);
  assert.equal(parseDuration(' 1h ', '--x'), 3_600_000);
});

void test('refuses a bare number, naming the flag and suggesting units', () => {
  assert.throws(
    () => parseDuration('30', '--health-timeout'),
    (error: Error) => {
      assert.match(error.message, /--health-timeout "30" needs a unit: write 30s/);
      assert.equal((error as { code?: string }).code, 'CUTOVER_ERR_USAGE');
      return true;
    },
  );
});

void test('refuses garbage, zero and absurd lengths', () => {
  assert.throws(() => parseDuration('soon', '--t'), /is not a duration/);
  assert.throws(() => parseDuration('-5s', '--t'), /is not a duration/);
  assert.throws(() => parseDuration('3x', '--t'), /is not a duration/);
  assert.throws(() => parseDuration('0s', '--t'), /longer than 0/);
  assert.throws(() => parseDuration('30000m', '--t'), /longer than 24h/);
});

void test('formats durations for people', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(0.84), '840 µs');
  assert.equal(formatDuration(3.14), '3.1 ms');
  assert.equal(formatDuration(250.4), '250 ms');
  assert.equal(formatDuration(1240), '1.24 s');
  assert.equal(formatDuration(125_000), '2 m 5 s');
});

void test('property: any whole amount with a unit parses to amount times the unit', () => {
  const units: [string, number][] = [
    ['ms', 1],
    ['s', 1000],
    ['m', 60_000],
    ['h', 3_600_000],
  ];
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 24 }),
      fc.constantFrom(...units),
      (amount, [unit, factor]) => {
        assert.equal(parseDuration(`${amount}${unit}`, '--t'), amount * factor);
      },
    ),
  );
});

void test('property: anything else than <number><unit> is a usage error, never a number', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      fc.pre(!/^\s*\d+(\.\d+)?(ms|s|m|h)\s*$/.test(text));
      assert.throws(() => parseDuration(text, '--t'), { code: 'CUTOVER_ERR_USAGE' });
    }),
  );
});
