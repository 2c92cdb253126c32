import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import type { AppConfig } from '../core/app-config.ts';
import { errorRateReason, verifySwitchWindow } from './verify-window.ts';
import type { ProbeRecord, TrafficCounts } from './verify-window.ts';

function settings(extra: Partial<AppConfig['switch']> = {}): AppConfig['switch'] {
  return {
    drainTimeoutMs: 1_000,
    websocketGraceMs: 0,
    probeWindowMs: 300,
    probeIntervalMs: 50,
    probePaths: ['/healthz'],
    failureThreshold: 0.01,
    autoRollback: true,
    ...extra,
  };
}

describe('verifySwitchWindow', () => {
  let server: Server;
  let publicUrl = '';
  const hanging = new Set<ServerResponse>();
  const hosts = new Set<string>();
  let flapCount = 0;

  before(async () => {
    server = createServer((req, res) => {
      hosts.add(req.headers.host ?? '');
      switch (req.url) {
        case '/healthz':
        case '/':
          res.end('ok');
          return;
        case '/moved':
          res.statusCode = 302;
          res.setHeader('location', '/');
          res.end();
          return;
        case '/fail':
          res.statusCode = 500;
          res.end();
          return;
        case '/hang':
          hanging.add(res);
          return;
        case '/hang-body':
          res.writeHead(200);
          res.write('partial');
          hanging.add(res);
          return;
        case '/flap':
          flapCount += 1;
          res.statusCode = flapCount % 3 === 0 ? 503 : 200;
          res.end();
          return;
        default:
          res.statusCode = 404;
          res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    flapCount = 0;
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const context = () => ({ publicUrl, host: 'shop.example.com', clock: createSystemClock() });

  it('passes a healthy server after the whole window, probing every path each interval', async () => {
    const seen: ProbeRecord[] = [];
    const result = await verifySwitchWindow(settings({ probePaths: ['/healthz', '/moved'] }), {
      ...context(),
      onProbe: (probe) => seen.push(probe),
    });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(result.durationMs >= 300 && result.durationMs < 1_500, `${result.durationMs} ms`);
    assert.ok(result.timeline.length >= 8 && result.timeline.length <= 16, `${seen.length}`);
    assert.deepEqual(seen, result.timeline);
    assert.deepEqual(
      result.timeline.slice(0, 2).map((probe) => [probe.path, probe.status, probe.ok]),
      [
        ['/healthz', 200, true],
        ['/moved', 302, true],
      ],
    );
    assert.ok(result.timeline.every((probe) => probe.atMs > 0 && probe.ms >= 0));
    assert.deepEqual([...hosts], ['shop.example.com']);
  });

  it('fails fast on the first failed probe and says why', async () => {
    const failing = await verifySwitchWindow(
      settings({ probeWindowMs: 5_000, probePaths: ['/fail'] }),
      context(),
    );
    assert.equal(failing.ok, false);
    if (failing.ok) return;
    assert.equal(failing.reason, 'probe GET /fail: status 500');
    assert.equal(failing.stopped, false);
    assert.equal(failing.timeline.length, 1);
    assert.ok(failing.durationMs < 1_000);
  });

  it('fails when the live color flaps, at the first bad answer', async () => {
    const result = await verifySwitchWindow(
      settings({ probeWindowMs: 5_000, probePaths: ['/flap'] }),
      context(),
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'probe GET /flap: status 503');
    assert.deepEqual(
      result.timeline.map((probe) => probe.status),
      [200, 200, 503],
    );
  });

  it('fails a probe that hangs at the probe timeout', async () => {
    const result = await verifySwitchWindow(settings({ probePaths: ['/hang'] }), {
      ...context(),
      probeTimeoutMs: 150,
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'probe GET /hang: timeout after 150 ms');
    assert.equal(result.timeline[0]?.status, null);
  });

  it('fails a probe whose body hangs at the probe timeout', async () => {
    const result = await verifySwitchWindow(settings({ probePaths: ['/hang-body'] }), {
      ...context(),
      probeTimeoutMs: 150,
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'probe GET /hang-body: timeout after 150 ms');
  });

  it('fails when nothing listens', async () => {
    const result = await verifySwitchWindow(settings(), {
      ...context(),
      publicUrl: 'http://127.0.0.1:1',
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'probe GET /healthz: connection refused');
  });

  it('respects the failure threshold on real traffic', async () => {
    const run = async (failedPerTick: number, threshold: number) => {
      let counts: TrafficCounts = { requests: 500, failed: 7 };
      return verifySwitchWindow(settings({ probeWindowMs: 200, failureThreshold: threshold }), {
        ...context(),
        traffic: () => {
          const now = counts;
          counts = { requests: now.requests + 100, failed: now.failed + failedPerTick };
          return Promise.resolve(now);
        },
      });
    };
    assert.equal((await run(0, 0.01)).ok, true);
    assert.equal((await run(2, 0.05)).ok, true);
    const over = await run(10, 0.05);
    assert.equal(over.ok, false);
    if (over.ok) return;
    assert.equal(over.reason, 'error rate 10% (10 of 100 requests) above the 5% threshold');
    assert.equal(over.timeline.length, 1);
  });

  it('keeps only the latest probes in the timeline, and the failing one', async () => {
    const result = await verifySwitchWindow(
      settings({ probeWindowMs: 5_000, probeIntervalMs: 5, probePaths: ['/flap'] }),
      { ...context(), timelineLimit: 2 },
    );
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.timeline.map((probe) => probe.status),
      [200, 503],
    );
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 120);
    const result = await verifySwitchWindow(settings({ probeWindowMs: 10_000 }), {
      ...context(),
      signal: controller.signal,
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'stopped');
    assert.equal(result.stopped, true);
    assert.ok(result.durationMs < 1_000);
  });

  it('does not probe when the window is 0', async () => {
    const result = await verifySwitchWindow(settings({ probeWindowMs: 0 }), {
      ...context(),
      publicUrl: 'http://127.0.0.1:1',
    });
    assert.deepEqual(result, { ok: true, timeline: [], durationMs: 0 });
  });
});

describe('errorRateReason', () => {
  it('counts only the requests since the baseline', () => {
    const before = { requests: 1_000, failed: 50 };
    assert.equal(errorRateReason(before, { requests: 1_000, failed: 50 }, 0), null);
    assert.equal(errorRateReason(before, { requests: 1_100, failed: 51 }, 0.01), null);
    assert.equal(
      errorRateReason(before, { requests: 1_100, failed: 52 }, 0.01),
      'error rate 2% (2 of 100 requests) above the 1% threshold',
    );
  });
});
