// Draining the old color: QUALITY.md A2 (in-flight requests finish on the old color, byte-exact)
// and A3 (the drain deadline ends stragglers with 504 or a clean close, counted; the flip never
// waits).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { Reply, RouterFixture } from '../helpers/router-fixture.ts';
import { patternBytes } from '../helpers/upstream.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

const BODY_BYTES = 256 * 1024;
const IN_FLIGHT = 20;
/**
 * How long each in-flight request takes upstream: long enough that all of them are open at once
 * even when a busy machine is slow to open twenty connections.
 */
const IN_FLIGHT_MS = 1500;

function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: Error) => ({ ok: false as const, error }),
  );
}

/** Resolves once the router counts `count` requests in flight on `color`. */
async function inflight(fx: RouterFixture, color: 'blue' | 'green', count: number): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < 5000) {
    const snapshot = await fx.router.describe();
    if ((snapshot.apps['shop']?.[color].inflight ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never saw ${count} requests in flight on ${color}`);
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router drain (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath });
    });
    after(async () => {
      await fx.close();
    });

    it('lets in-flight requests finish on the old color byte-exact (A2)', async () => {
      await fx.flipTo('blue');
      const expected = patternBytes(BODY_BYTES);
      const pending = Array.from({ length: IN_FLIGHT }, () =>
        send(fx.publicPort, { path: `/bytes?n=${BODY_BYTES}&ms=${IN_FLIGHT_MS}` }),
      );
      await inflight(fx, 'blue', IN_FLIGHT);
      const flipStarted = performance.now();
      await fx.flipTo('green');
      const flipMs = performance.now() - flipStarted;
      const drain = fx.router.drain('shop', 'blue', { timeoutMs: 5000, websocketGraceMs: 1000 });
      const during = await send(fx.publicPort);
      assert.equal(
        during.body.toString(),
        'green',
        'a request after the flip goes to the new color',
      );
      const replies = await Promise.all(pending);
      for (const reply of replies) {
        assert.equal(reply.status, 200);
        assert.equal(reply.headers['x-upstream'], 'blue');
        assert.ok(reply.body.equals(expected), 'the body arrived byte-exact');
      }
      const report = await drain;
      assert.equal(report.completed, IN_FLIGHT);
      assert.equal(report.aborted, 0);
      assert.equal(report.cancelled, false);
      assert.ok(flipMs < 50, `the flip took ${flipMs} ms while requests were in flight`);
    });

    it('ends stragglers at the deadline with 504 or a clean close, and counts them (A3)', async () => {
      await fx.flipTo('blue');
      const before = (await fx.router.describe()).apps['shop']?.blue.failed ?? 0;
      // No response head yet: these get a 504 from the router.
      const hanging = Array.from({ length: 5 }, () =>
        settle(send(fx.publicPort, { path: '/hang' })),
      );
      // Head and half the body sent: these are closed, never reset, after the last full chunk.
      const streaming = Array.from({ length: 3 }, () =>
        settle(send(fx.publicPort, { path: `/bytes?n=${BODY_BYTES}&ms=60000` })),
      );
      await inflight(fx, 'blue', 8);
      const flipStarted = performance.now();
      await fx.flipTo('green');
      assert.ok(performance.now() - flipStarted < 50, 'the flip did not wait for the stragglers');
      const drainStarted = performance.now();
      const report = await fx.router.drain('shop', 'blue', {
        timeoutMs: 300,
        websocketGraceMs: 100,
      });
      const drainMs = performance.now() - drainStarted;
      assert.ok(drainMs >= 290 && drainMs < 3000, `the drain took ${drainMs} ms`);
      assert.equal(report.aborted, 8);
      assert.equal(report.completed, 0);
      for (const result of await Promise.all(hanging)) {
        assert.ok(result.ok, 'a request without a response head gets an answer');
        const reply: Reply = result.value;
        assert.equal(reply.status, 504);
        assert.equal(reply.headers['x-cutover-error'], 'CUTOVER_ERR_DRAIN_DEADLINE');
      }
      for (const result of await Promise.all(streaming)) {
        assert.equal(result.ok, false, 'a cut response is never presented as complete');
        if (!result.ok) assert.doesNotMatch(result.error.message, /ECONNRESET/);
      }
      const after = (await fx.router.describe()).apps['shop']?.blue;
      assert.equal(after?.failed, before + 5);
      assert.equal(after?.inflight, 0);
    });

    it('cancels the drain when the color becomes live again (rollback)', async () => {
      await fx.flipTo('blue');
      const pending = send(fx.publicPort, { path: '/slow?ms=500' });
      await inflight(fx, 'blue', 1);
      await fx.flipTo('green');
      const drain = fx.router.drain('shop', 'blue', { timeoutMs: 5000, websocketGraceMs: 1000 });
      await fx.flipTo('blue');
      const report = await drain;
      assert.equal(report.cancelled, true);
      assert.equal((await pending).body.toString(), 'blue');
    });

    it('reports at once when nothing is in flight', async () => {
      await fx.flipTo('green');
      const report = await fx.router.drain('shop', 'blue', {
        timeoutMs: 5000,
        websocketGraceMs: 1000,
      });
      assert.equal(report.cancelled, false);
      assert.equal(report.completed + report.aborted + report.websocketsClosed, 0);
      assert.ok(report.durationMs < 100);
    });

    it('does not count preview requests on the drained color', async () => {
      await fx.flipTo('blue');
      await fx.flipTo('green');
      // Blue is now the idle color: the preview listener serves it and the drain ignores that.
      const preview = send(fx.previewPort, { path: '/slow?ms=400' });
      await inflight(fx, 'blue', 1);
      const report = await fx.router.drain('shop', 'blue', {
        timeoutMs: 5000,
        websocketGraceMs: 100,
      });
      assert.ok(
        report.durationMs < 300,
        `the drain waited ${report.durationMs} ms for a preview request`,
      );
      assert.equal((await preview).body.toString(), 'blue');
    });
  });
}
