import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazyTimer } from './lazy-timer.ts';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('LazyTimer', () => {
  it('calls back once, no earlier than the deadline', async () => {
    const fired: number[] = [];
    const started = performance.now();
    const timer = new LazyTimer(() => fired.push(performance.now() - started));
    timer.set(30);
    await sleep(200);
    assert.equal(fired.length, 1);
    const at = fired[0] ?? -1;
    assert.ok(at >= 29, `fired after ${at} ms`);
    timer.dispose();
  });

  it('never calls back once cleared, and again after a new set', async () => {
    let fired = 0;
    const timer = new LazyTimer(() => fired++);
    timer.set(20);
    timer.clear();
    await sleep(50);
    assert.equal(fired, 0);
    timer.set(10);
    await sleep(150);
    assert.equal(fired, 1);
    timer.dispose();
  });

  it('follows a deadline moved later, then earlier', async () => {
    const fired: number[] = [];
    const started = performance.now();
    const timer = new LazyTimer(() => fired.push(performance.now() - started));
    timer.set(50);
    // Moved later before the first timer fires: that one re-arms for the rest.
    timer.set(400);
    await sleep(150);
    assert.equal(fired.length, 0);
    // Moved earlier than the armed timer: it is re-armed, well before the 400 ms deadline.
    timer.set(10);
    await sleep(150);
    const at = fired[0] ?? -1;
    assert.equal(fired.length, 1);
    assert.ok(at >= 159 && at < 400, `fired after ${at} ms`);
    timer.dispose();
  });

  it('stops for good when disposed', async () => {
    let fired = 0;
    const timer = new LazyTimer(() => fired++);
    timer.set(10);
    timer.dispose();
    await sleep(40);
    assert.equal(fired, 0);
  });
});
