import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { percentile, runWarmup } from './warmup.ts';

describe('runWarmup', () => {
  let server: Server;
  let baseUrl = '';
  const byPath = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  let connections = 0;
  let inflight = 0;
  let peakInflight = 0;

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      byPath.set(path, (byPath.get(path) ?? 0) + 1);
      if (req.headers.host !== 'shop.example.com') {
        res.statusCode = 421;
        res.end();
        return;
      }
      if (path === '/hang') {
        hanging.add(res);
        return;
      }
      if (path === '/hang-body') {
        res.writeHead(200);
        res.write('partial');
        hanging.add(res);
        return;
      }
      inflight += 1;
      peakInflight = Math.max(peakInflight, inflight);
      setTimeout(() => {
        inflight -= 1;
        res.statusCode = path === '/fail' ? 500 : 200;
        res.end('warm');
      }, 2);
    });
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    byPath.clear();
    connections = 0;
    peakInflight = 0;
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const context = () => ({ baseUrl, host: 'shop.example.com' });

  it('sends exactly the requests asked, over the paths in turn, on kept-alive connections', async () => {
    const report = await runWarmup(
      { requests: 200, durationMs: 0, paths: ['/a', '/b'], concurrency: 4 },
      context(),
    );
    assert.equal(report.end, 'done');
    assert.equal(report.sent, 200);
    assert.equal(report.ok, 200);
    assert.equal(report.failed, 0);
    assert.equal(byPath.get('/a'), 100);
    assert.equal(byPath.get('/b'), 100);
    assert.ok(connections <= 4, `${connections} connections`);
    assert.ok(peakInflight <= 4 && peakInflight >= 2, `peak ${peakInflight}`);
    assert.ok(report.p50Ms !== null && report.p99Ms !== null && report.p50Ms <= report.p99Ms);
  });

  it('counts failed answers by reason', async () => {
    const report = await runWarmup(
      { requests: 10, durationMs: 0, paths: ['/ok', '/fail'], concurrency: 2 },
      context(),
    );
    assert.equal(report.sent, 10);
    assert.equal(report.ok, 5);
    assert.equal(report.failed, 5);
    assert.deepEqual(report.errors, { 'status 500': 5 });
  });

  it('sends requests for the duration only', async () => {
    const report = await runWarmup(
      { requests: 0, durationMs: 300, paths: ['/'], concurrency: 2 },
      context(),
    );
    assert.equal(report.end, 'done');
    assert.ok(report.sent > 0);
    assert.equal(report.failed, 0);
    assert.ok(report.durationMs >= 250 && report.durationMs < 2_000, `${report.durationMs} ms`);
  });

  it('is skipped when neither requests nor duration is set', async () => {
    const report = await runWarmup(
      { requests: 0, durationMs: 0, paths: ['/'], concurrency: 4 },
      context(),
    );
    assert.equal(report.end, 'skipped');
    assert.equal(report.sent, 0);
    assert.equal(byPath.size, 0);
  });

  it('times out hanging requests and stops at the time limit', async () => {
    const report = await runWarmup(
      { requests: 1_000, durationMs: 0, paths: ['/hang'], concurrency: 2 },
      { ...context(), requestTimeoutMs: 100, maxDurationMs: 450 },
    );
    assert.equal(report.end, 'time-limit');
    assert.ok(report.failed >= 2 && report.failed <= 10, `${report.failed} failed`);
    assert.equal(report.errors['timeout after 100 ms'], report.failed);
    assert.ok(report.durationMs < 2_000);
  });

  it('counts a body that hangs as a timeout, not a success', async () => {
    const report = await runWarmup(
      { requests: 2, durationMs: 0, paths: ['/hang-body'], concurrency: 2 },
      { ...context(), requestTimeoutMs: 100 },
    );
    assert.equal(report.end, 'done');
    assert.equal(report.ok, 0);
    assert.deepEqual(report.errors, { 'timeout after 100 ms': 2 });
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const report = await runWarmup(
      { requests: 0, durationMs: 60_000, paths: ['/'], concurrency: 2 },
      { ...context(), signal: controller.signal },
    );
    assert.equal(report.end, 'stopped');
    assert.ok(report.durationMs < 2_000);
    assert.equal(report.failed, 0);
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    assert.equal(percentile(sorted, 0.5), 50);
    assert.equal(percentile(sorted, 0.99), 99);
    assert.equal(percentile([7], 0.99), 7);
    assert.equal(percentile([], 0.5), null);
  });
});
