import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CanaryAnalysisConfig } from '../core/app-config.ts';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';
import { judgeCanaryStep, latencyQuantileMs, windowBetween } from './canary-analysis.ts';
import type { ColorWindow } from './canary-analysis.ts';

const ANALYSIS: CanaryAnalysisConfig = {
  minRequests: 50,
  maxErrorRate: 0.01,
  maxErrorRateIncrease: 0.005,
  maxP99Ms: null,
  maxP99Ratio: null,
  maxWaitMs: 60_000,
};

/** A histogram with `count` responses in the bucket whose bound is `boundMs`. */
function histogram(entries: readonly (readonly [number, number])[]): number[] {
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [boundMs, count] of entries) {
    const i =
      boundMs === Infinity ? LATENCY_BUCKETS_MS.length : LATENCY_BUCKETS_MS.indexOf(boundMs);
    assert.ok(i >= 0, `no bucket bound ${boundMs}`);
    latency[i] = (latency[i] ?? 0) + count;
  }
  return latency;
}

function window(requests: number, errors: number, latency: number[] | null = null): ColorWindow {
  return { requests, errors, latency };
}

void describe('canary analysis', () => {
  void it('takes the step window from two cumulative snapshots', () => {
    const before = { requests: 100, failed: 1, serverErrors: 2, latency: histogram([[5, 100]]) };
    const after = {
      requests: 1100,
      failed: 1,
      serverErrors: 53,
      latency: histogram([
        [5, 900],
        [50, 200],
      ]),
    };
    const got = windowBetween(before, after);
    assert.equal(got.requests, 1000);
    assert.equal(got.errors, 51);
    assert.deepEqual(
      got.latency,
      histogram([
        [5, 800],
        [50, 200],
      ]),
    );
    // A router restarted between the snapshots: the later counters are the whole window.
    assert.equal(windowBetween(after, { requests: 40, failed: 0, serverErrors: 1 }).requests, 40);
    assert.equal(windowBetween(undefined, undefined).requests, 0);
    assert.equal(windowBetween(before, { ...after, latency: undefined }).latency, null);
  });

  void it('estimates a quantile inside its bucket, and above every bound in the overflow', () => {
    assert.equal(latencyQuantileMs(histogram([]), 0.99), null);
    // 100 responses all in (10, 20] ms: the 99th is 99 % of the way through the bucket.
    assert.equal(latencyQuantileMs(histogram([[20, 100]]), 0.99), 10 + 10 * 0.99);
    const tail = histogram([
      [5, 98],
      [1000, 2],
    ]);
    assert.ok((latencyQuantileMs(tail, 0.99) ?? 0) > 750);
    assert.equal(latencyQuantileMs(tail, 0.5), 2 + 3 * (50 / 98));
    assert.equal(latencyQuantileMs(histogram([[Infinity, 10]]), 0.99), Infinity);
  });

  void it('rolls back a canary at 5 % errors while live is at 0 %, naming the numbers', () => {
    const got = judgeCanaryStep(window(1000, 51), window(9000, 0), ANALYSIS);
    assert.equal(got.verdict, 'failed');
    assert.deepEqual(got.failures, [
      'canary error rate 5.1% (51/1000) over the limit 1% (live 0.0%)',
    ]);
    assert.equal(got.canary.errorRate, 0.051);
  });

  void it('passes a healthy canary and waits while it has too few requests', () => {
    assert.equal(judgeCanaryStep(window(60, 0), window(600, 0), ANALYSIS).verdict, 'passed');
    const waiting = judgeCanaryStep(window(49, 49), window(600, 0), ANALYSIS);
    assert.equal(waiting.verdict, 'waiting');
    assert.deepEqual(waiting.failures, []);
  });

  void it('judges the rise over the live color apart from the absolute limit', () => {
    const loose = { ...ANALYSIS, maxErrorRate: 0.5 };
    // Live 2 %, canary 2.4 %: within 0.5 points of live.
    assert.equal(judgeCanaryStep(window(1000, 24), window(1000, 20), loose).verdict, 'passed');
    const worse = judgeCanaryStep(window(1000, 30), window(1000, 20), loose);
    assert.equal(worse.verdict, 'failed');
    assert.match(
      worse.failures[0] ?? '',
      /3\.0% \(30\/1000\) more than 0\.5% over the live color's 2\.0% \(20\/1000\)/,
    );
  });

  void it('judges p99 against the absolute limit and the live p99, when latency is counted', () => {
    const slow = window(100, 0, histogram([[500, 100]]));
    const fast = window(100, 0, histogram([[20, 100]]));
    const limits = { ...ANALYSIS, maxP99Ms: 200, maxP99Ratio: 1.5 };
    const got = judgeCanaryStep(slow, fast, limits);
    assert.equal(got.verdict, 'failed');
    assert.equal(got.failures.length, 2);
    assert.match(got.failures[0] ?? '', /^canary p99 498 ms over the limit 200 ms$/);
    assert.match(got.failures[1] ?? '', /over 1\.5 x the live p99 20 ms/);
    assert.equal(judgeCanaryStep(fast, fast, limits).verdict, 'passed');
    // No latency from the router: latency is not judged at all.
    assert.equal(judgeCanaryStep(window(100, 0), window(100, 0), limits).verdict, 'passed');
    assert.equal(judgeCanaryStep(window(100, 0), window(100, 0), limits).canary.p99Ms, null);
  });
});
