import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { createRestartBackoff, DEFAULT_RESTART_BACKOFF } from './restart-backoff.ts';

void it('doubles the delay per consecutive crash up to the cap, and resets after a stable run', () => {
  const backoff = createRestartBackoff(DEFAULT_RESTART_BACKOFF);
  const delays: number[] = [];
  let now = 0;
  for (let i = 0; i < 9; i += 1) {
    const verdict = backoff.crashed(now, now + 100);
    delays.push(verdict.restartInMs);
    now += 100 + verdict.restartInMs;
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  // Ran a minute: the next crash is a first crash again.
  assert.equal(backoff.crashed(now, now + 60_000).restartInMs, 500);
});

void it('reports a crash loop once when the window fills, and again after it clears', () => {
  const backoff = createRestartBackoff({ ...DEFAULT_RESTART_BACKOFF, crashLoopCrashes: 3 });
  const started = [0, 10, 20, 30].map((t) => backoff.crashed(t, t + 1).crashLoopStarted);
  assert.deepEqual(started, [false, false, true, false]);
  // Long after the window: the loop is over; three quick crashes make a new one.
  const later = [1e6, 1e6 + 10, 1e6 + 20].map((t) => backoff.crashed(t, t + 1));
  assert.deepEqual(
    later.map((v) => [v.recentCrashes, v.crashLoopStarted]),
    [
      [1, false],
      [2, false],
      [3, true],
    ],
  );
});

void it('never waits less than the base delay nor more than the cap', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(200_000), { maxLength: 50 }), (runTimes) => {
      const backoff = createRestartBackoff(DEFAULT_RESTART_BACKOFF);
      let now = 0;
      for (const ran of runTimes) {
        const { restartInMs } = backoff.crashed(now, now + ran);
        if (restartInMs < 500 || restartInMs > 30_000) return false;
        now += ran + restartInMs;
      }
      return true;
    }),
  );
});
