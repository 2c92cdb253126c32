import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ColorLoad } from './color-load.ts';
import type { ListenerName, Tracked } from './color-load.ts';
import { DrainRun } from './drain-run.ts';

/** A request or WebSocket that ends when the drain stops it, as the real ones do. */
function tracked(
  load: ColorLoad,
  kind: 'request' | 'websocket',
  options: { listener?: ListenerName; longLived?: boolean } = {},
): Tracked & { stops: string[] } {
  const item = {
    kind,
    listener: options.listener ?? 'public',
    longLived: options.longLived ?? kind === 'websocket',
    stops: [] as string[],
    stop(reason: 'grace' | 'deadline') {
      item.stops.push(reason);
      setImmediate(() => load.end(item, reason === 'deadline' ? 'aborted' : 'closed'));
    },
  };
  load.begin(item);
  return item;
}

describe('DrainRun', () => {
  it('reports at once when nothing public is open', async () => {
    const load = new ColorLoad('shop', 'blue');
    tracked(load, 'request', { listener: 'preview' });
    const run = new DrainRun(load, { timeoutMs: 1000, websocketGraceMs: 100 });
    run.start();
    const report = await run.report;
    assert.deepEqual(
      { ...report, durationMs: 0 },
      {
        app: 'shop',
        color: 'blue',
        completed: 0,
        aborted: 0,
        websocketsClosed: 0,
        durationMs: 0,
        cancelled: false,
      },
    );
  });

  it('counts requests that finish by themselves as completed', async () => {
    const load = new ColorLoad('shop', 'blue');
    const a = tracked(load, 'request');
    const b = tracked(load, 'request');
    const run = new DrainRun(load, { timeoutMs: 1000, websocketGraceMs: 100 });
    run.start();
    load.end(a, 'completed');
    load.end(b, 'completed');
    const report = await run.report;
    assert.equal(report.completed, 2);
    assert.equal(report.aborted, 0);
    assert.ok(report.durationMs < 100);
    assert.deepEqual(a.stops, []);
  });

  it('closes long-lived ones at the grace and ends the rest at the deadline', async () => {
    const load = new ColorLoad('shop', 'blue');
    const socket = tracked(load, 'websocket');
    const slow = tracked(load, 'request');
    const run = new DrainRun(load, { timeoutMs: 80, websocketGraceMs: 20 });
    run.start();
    const report = await run.report;
    assert.deepEqual(socket.stops, ['grace']);
    assert.deepEqual(slow.stops, ['deadline']);
    assert.equal(report.websocketsClosed, 1);
    assert.equal(report.aborted, 1);
    assert.ok(report.durationMs >= 75, `ended after ${report.durationMs} ms`);
  });

  it('ends with cancelled: true when cancelled, and stops nothing', async () => {
    const load = new ColorLoad('shop', 'blue');
    const slow = tracked(load, 'request');
    const run = new DrainRun(load, { timeoutMs: 50, websocketGraceMs: 10 });
    run.start();
    run.cancel();
    const report = await run.report;
    assert.equal(report.cancelled, true);
    await new Promise((resolve) => setTimeout(resolve, 70));
    assert.deepEqual(slow.stops, []);
  });

  it('follows a handshake that became a WebSocket during the drain', async () => {
    const load = new ColorLoad('shop', 'blue');
    const handshake = tracked(load, 'request');
    const run = new DrainRun(load, { timeoutMs: 1000, websocketGraceMs: 30 });
    run.start();
    const socket = {
      kind: 'websocket' as const,
      listener: 'public' as const,
      longLived: true,
      stops: [] as string[],
      stop(reason: 'grace' | 'deadline') {
        socket.stops.push(reason);
        setImmediate(() => load.end(socket, 'closed'));
      },
    };
    load.upgraded(handshake, socket);
    const report = await run.report;
    assert.deepEqual(socket.stops, ['grace']);
    assert.equal(report.websocketsClosed, 1);
    assert.equal(report.completed, 0);
    assert.equal(load.inflight, 0);
    assert.equal(load.websockets, 0);
  });
});
