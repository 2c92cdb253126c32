import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import { isCutoverError } from '../core/errors.ts';
import type { HealthCheckSpec } from '../core/types.ts';
import { createHealthChecker, nextHealthState } from './health-checker.ts';
import { probeHttp } from './http-probe.ts';

const clock = createSystemClock();
const FAST: HealthCheckSpec = { path: '/health', intervalMs: 15, timeoutMs: 150, rise: 2, fall: 2 };
const servers: Server[] = [];

after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function refusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function status(code: number) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = code;
    res.end('x');
  };
}

// Never answers: the check must time out.
const hang = (): void => undefined;

void describe('probeHttp', () => {
  void it('passes 2xx and 3xx, names status, refusal and timeout', async () => {
    const ok = await serve(status(200));
    const redirect = await serve(status(302));
    const broken = await serve(status(503));
    const hung = await serve(hang);
    const refused = await refusedAddress();
    assert.deepEqual(await probeHttp(clock, ok, '/', 500), { ok: true, detail: 'status 200' });
    assert.deepEqual(await probeHttp(clock, redirect, '/', 500), {
      ok: true,
      detail: 'status 302',
    });
    assert.deepEqual(await probeHttp(clock, broken, '/', 500), { ok: false, detail: 'status 503' });
    assert.deepEqual(await probeHttp(clock, refused, '/', 500), { ok: false, detail: 'refused' });
    const started = clock.monotonicMs();
    assert.deepEqual(await probeHttp(clock, hung, '/', 100), {
      ok: false,
      detail: 'timeout after 100 ms',
    });
    assert.ok(clock.monotonicMs() - started < 1000);
  });

  void it('requests the configured path', async () => {
    const paths: string[] = [];
    const address = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.end();
    });
    await probeHttp(clock, address, '/healthz?deep=1', 500);
    assert.deepEqual(paths, ['/healthz?deep=1']);
  });
});

void describe('rise and fall', () => {
  void it('goes up after rise passes in a row and down after fall failures', () => {
    const spec = { rise: 2, fall: 3 };
    let s = { state: 'unknown' as const, passes: 0, fails: 0 } as ReturnType<
      typeof nextHealthState
    >;
    s = nextHealthState(s, true, spec);
    assert.equal(s.state, 'unknown');
    s = nextHealthState(s, true, spec);
    assert.equal(s.state, 'up');
    s = nextHealthState(nextHealthState(s, false, spec), false, spec);
    assert.equal(s.state, 'up');
    s = nextHealthState(s, true, spec);
    s = nextHealthState(nextHealthState(nextHealthState(s, false, spec), false, spec), false, spec);
    assert.equal(s.state, 'down');
  });
});

void describe('HealthChecker.waitHealthy', () => {
  void it('resolves when every instance has risen', async () => {
    const checker = createHealthChecker({ clock });
    const a = await serve(status(200));
    const b = await serve(status(204));
    await checker.waitHealthy([a, b], FAST, 2000);
    checker.close();
  });

  void it('rejects naming each failing instance and why: 5xx, hang, refused', async () => {
    const checker = createHealthChecker({ clock });
    const good = await serve(status(200));
    const broken = await serve(status(500));
    const hung = await serve(hang);
    const refused = await refusedAddress();
    await assert.rejects(checker.waitHealthy([good, broken, hung, refused], FAST, 600), (error) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_HEALTH_FAILED');
      assert.ok(error.message.includes(`${broken} (status 500)`), error.message);
      assert.ok(error.message.includes(`${hung} (timeout after 150 ms)`), error.message);
      assert.ok(error.message.includes(`${refused} (refused)`), error.message);
      assert.ok(!error.message.includes(`${good} (`), error.message);
      return true;
    });
    checker.close();
  });

  void it('a flapping instance never counts as healthy', async () => {
    const checker = createHealthChecker({ clock });
    let n = 0;
    const flapping = await serve((_req, res) => {
      n += 1;
      res.statusCode = n % 2 === 0 ? 500 : 200;
      res.end();
    });
    await assert.rejects(checker.waitHealthy([flapping], FAST, 500), /status 500/);
    assert.ok(n >= 6, `checked ${n} times`);
    checker.close();
  });

  void it('stops at once when the caller aborts', async () => {
    const checker = createHealthChecker({ clock });
    const broken = await serve(status(500));
    const controller = new AbortController();
    const waiting = checker.waitHealthy([broken], FAST, 10_000, controller.signal);
    setTimeout(() => controller.abort(new Error('deploy cancelled')), 50);
    await assert.rejects(waiting, /deploy cancelled/);
    checker.close();
  });
});

void describe('HealthChecker.watch', () => {
  void it('reports rise and fall, feeds the snapshot, and stops when unwatched', async () => {
    const checker = createHealthChecker({ clock });
    let healthy = true;
    let requests = 0;
    const address = await serve((_req, res) => {
      requests += 1;
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    const changes: [string, boolean][] = [];
    const seen = (expected: boolean) =>
      new Promise<void>((resolve) => {
        const off = checker.onChange((changed, up) => {
          changes.push([changed, up]);
          if (up === expected) {
            off();
            resolve();
          }
        });
      });
    assert.equal(checker.stateOf(address).state, 'unknown');
    assert.equal(checker.snapshot().size, 0);
    const rose = seen(true);
    const unwatch = checker.watch([address], FAST);
    await rose;
    assert.equal(checker.snapshot().get(address), true);
    healthy = false;
    await seen(false);
    assert.equal(checker.snapshot().get(address), false);
    assert.deepEqual(checker.stateOf(address), { state: 'down', lastError: 'status 503' });
    assert.deepEqual(changes, [
      [address, true],
      [address, false],
    ]);
    unwatch();
    await clock.sleep(FAST.intervalMs * 3);
    const after = requests;
    await clock.sleep(FAST.intervalMs * 5);
    assert.equal(requests, after);
    assert.equal(checker.snapshot().size, 0);
    checker.close();
  });

  void it('keeps checking an address while any watcher holds it', async () => {
    const checker = createHealthChecker({ clock });
    const address = await serve(status(200));
    const first = checker.watch([address], FAST);
    const second = checker.watch([address], FAST);
    first();
    first();
    await clock.sleep(FAST.intervalMs * 6);
    assert.equal(checker.stateOf(address).state, 'up');
    second();
    assert.equal(checker.stateOf(address).state, 'unknown');
    checker.close();
  });
});
