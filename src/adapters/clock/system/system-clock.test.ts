import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createSystemClock } from './system-clock.ts';

void it('measures a sleep on the monotonic clock and reads wall time', async () => {
  const clock = createSystemClock();
  const before = clock.monotonicMs();
  await clock.sleep(30);
  const slept = clock.monotonicMs() - before;
  assert.ok(slept >= 25, `slept ${slept} ms`);
  assert.ok(Math.abs(clock.nowMs() - Date.now()) < 1000);
});

void it('rejects a sleep with the abort reason', async () => {
  const clock = createSystemClock();
  const controller = new AbortController();
  const sleeping = clock.sleep(10_000, controller.signal);
  controller.abort(new Error('stop now'));
  await assert.rejects(sleeping, /stop now/);
});

void it('rejects at once when the signal is already aborted', async () => {
  const clock = createSystemClock();
  await assert.rejects(clock.sleep(10_000, AbortSignal.abort(new Error('too late'))), /too late/);
});
