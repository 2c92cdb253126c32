// Issue 3, the switch window: a release whose probe path works but which answers 500 to real
// users must be flipped back. The router counts the instance's own 5xx (`serverErrors`); the
// verify window reads them as failures, as the pipeline's verify step does.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSystemClock } from '../../src/adapters/clock/system/system-clock.ts';
import type { AppConfig } from '../../src/core/app-config.ts';
import type { ColorTraffic } from '../../src/ports/traffic-switch.ts';
import { verifySwitchWindow } from '../../src/probes/verify-window.ts';
import type { TrafficCounts } from '../../src/probes/verify-window.ts';
import { routingTable, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { RouterFixture } from '../helpers/router-fixture.ts';

/** Real traffic sent during the window: bounded, one request at a time. */
const LOAD_REQUESTS = 40;
/** Every fifth request to /api fails: a 20 % error rate, far above the threshold. */
const FAILING_EVERY = 5;

const SWITCH: AppConfig['switch'] = {
  drainTimeoutMs: 1_000,
  websocketGraceMs: 0,
  probeWindowMs: 800,
  probeIntervalMs: 40,
  probePaths: ['/healthz'],
  failureThreshold: 0.01,
  autoRollback: true,
};

/** A release whose health path works and whose API answers 500 to some users. */
async function startHalfBrokenApp(): Promise<{ address: string; close(): Promise<void> }> {
  let apiCalls = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/api') {
      apiCalls += 1;
      res.statusCode = apiCalls % FAILING_EVERY === 0 ? 500 : 200;
    }
    res.end('green');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("the switch window on real traffic with the instances' own 5xx", () => {
  let fx: RouterFixture;
  let app: { address: string; close(): Promise<void> };

  before(async () => {
    fx = await startRouterFixture({ workers: 2, fastPath: true });
    app = await startHalfBrokenApp();
    await fx.router.apply(
      routingTable(++fx.generation, [
        { app: 'shop', live: 'green', blue: [fx.blue.address], green: [app.address] },
      ]),
    );
  });
  after(async () => {
    await fx.close();
    await app.close();
  });

  /** Runs the window on green while LOAD_REQUESTS reach /api once the baseline is taken. */
  async function runWindow(count: (traffic: ColorTraffic) => number) {
    let baselineTaken: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (baselineTaken = resolve));
    const window = verifySwitchWindow(SWITCH, {
      publicUrl: `http://127.0.0.1:${fx.publicPort}`,
      host: 'shop',
      clock: createSystemClock(),
      traffic: async (): Promise<TrafficCounts> => {
        const snapshot = await fx.router.describe();
        const green = snapshot.apps['shop']?.green;
        assert.ok(green !== undefined);
        baselineTaken();
        return { requests: green.requests, failed: count(green) };
      },
    });
    await started;
    const statuses: number[] = [];
    for (let i = 0; i < LOAD_REQUESTS; i++) {
      statuses.push((await send(fx.publicPort, { path: '/api' })).status);
    }
    const result = await window;
    return { result, statuses };
  }

  it('flips back: the probes pass, the users get 500s above the threshold', async () => {
    const { result, statuses } = await runWindow((t) => t.failed + t.serverErrors);
    assert.equal(statuses.filter((status) => status === 500).length, LOAD_REQUESTS / FAILING_EVERY);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(
      result.reason,
      /^error rate \d+(\.\d)?% \(\d+ of \d+ requests\) above the 1% threshold$/,
    );
    assert.ok(result.timeline.length > 0);
    assert.ok(
      result.timeline.every((probe) => probe.ok),
      'every probe passed: only the real traffic failed',
    );
    assert.ok(result.durationMs < SWITCH.probeWindowMs, 'the window ended early');
  });

  it('would have passed on the router-generated failures alone (the gap this closes)', async () => {
    const { result, statuses } = await runWindow((t) => t.failed);
    assert.ok(statuses.includes(500), 'the users got 500s');
    assert.equal(result.ok, true);
  });
});
