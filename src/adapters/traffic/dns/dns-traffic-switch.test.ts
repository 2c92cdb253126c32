// The DNS switch's decisions with a recording DNS client, a wrapped switch that only records,
// and a manual clock: when the TTL is lowered, what a flip publishes, how long a drain waits,
// and what a rollback cancels. The pinned listeners are real (loopback, port 0).
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteTarget, RoutingTable } from '../../../core/routing-table.ts';
import { CutoverError } from '../../../core/errors.ts';
import type { Color } from '../../../core/types.ts';
import type { Clock } from '../../../ports/clock.ts';
import type { DrainReport, TrafficSwitch } from '../../../ports/traffic-switch.ts';
import type { DnsConfig } from './dns-config.ts';
import type { DnsUpdateClient } from './dns-update-client.ts';
import { createDnsTrafficSwitch } from './dns-traffic-switch.ts';
import type { DnsTrafficSwitch } from './dns-traffic-switch.ts';

const CONFIG: DnsConfig = {
  server: { host: '127.0.0.1', port: 53 },
  key: { name: 'k.', algorithm: 'hmac-sha256', secret: Buffer.alloc(32) },
  apps: {
    shop: {
      zone: 'example.test.',
      record: 'shop.example.test.',
      ttl: 300,
      lowTtl: 5,
      marginMs: 2000,
      colors: { blue: { host: '127.0.0.2', port: 0 }, green: { host: '127.0.0.3', port: 0 } },
    },
  },
};

class ManualClock implements Clock {
  now = 1_000_000;
  private readonly sleepers: { until: number; resolve: () => void }[] = [];
  nowMs(): number {
    return this.now;
  }
  monotonicMs(): number {
    return this.now;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper = { until: this.now + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => reject(new Error('aborted')));
    });
  }
  /** Moves time on and wakes the sleepers due by then. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const sleeper of this.sleepers.filter((s) => s.until <= this.now)) sleeper.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }
  pendingSleeps(): number[] {
    return this.sleepers.map((s) => s.until - this.now).filter((left) => left > 0);
  }
}

let published: { address: string; ttl: number }[];
let failNext: CutoverError | null;
let drains: { app: string; color: Color }[];
let clock: ManualClock;
let dns: DnsTrafficSwitch;
const opened: DnsTrafficSwitch[] = [];

const client: DnsUpdateClient = {
  server: CONFIG.server,
  update: () => Promise.reject(new Error('not used')),
  replaceAddress(_zone, _name, address, ttl) {
    if (failNext !== null) {
      const error = failNext;
      failNext = null;
      return Promise.reject(error);
    }
    published.push({ address, ttl });
    return Promise.resolve({ transport: 'udp', durationMs: 1 });
  },
};

function report(app: string, color: Color): DrainReport {
  return {
    app,
    color,
    completed: 0,
    aborted: 0,
    websocketsClosed: 0,
    durationMs: 0,
    cancelled: false,
  };
}

const inner: TrafficSwitch = {
  apply: (table) => Promise.resolve({ generation: table.generation, durationMs: 0, workers: 1 }),
  drain: (app, color) => {
    drains.push({ app, color });
    return Promise.resolve(report(app, color));
  },
  setUpstreamHealth: () => undefined,
  describe: () => Promise.resolve({ generation: 0, workers: 1, apps: {} }),
  close: () => Promise.resolve(),
};

function target(color: Color, release: string): RouteTarget {
  return { color, release, upstreams: [] };
}

let generation = 0;
function table(live: RouteTarget | null, idle: RouteTarget | null): RoutingTable {
  return { generation: ++generation, apps: [{ app: 'shop', hosts: [], live, idle }] };
}

beforeEach(async () => {
  published = [];
  failNext = null;
  drains = [];
  clock = new ManualClock();
  dns = await createDnsTrafficSwitch({ inner, config: CONFIG, clock, client });
  opened.push(dns);
});

after(async () => {
  await Promise.all(opened.map((each) => each.close(100)));
});

void test('first flip: normal TTL; placing a release lowers it; the flip publishes the low TTL', async () => {
  await dns.apply(table(null, target('blue', 'v1')));
  assert.deepEqual(published, [], 'nothing live: nothing to publish');
  await dns.apply(table(target('blue', 'v1'), null));
  assert.deepEqual(published, [{ address: '127.0.0.2', ttl: 300 }]);
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  assert.deepEqual(published.at(-1), { address: '127.0.0.2', ttl: 5 });
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  assert.deepEqual(published.at(-1), { address: '127.0.0.3', ttl: 5 });
  assert.equal(published.length, 3);
  const [view] = dns.dnsApps();
  assert.deepEqual(view?.serving, { blue: true, green: true }, 'blue serves its stragglers');
});

void test('the drain of the old color waits for the longest TTL a client may still hold, then restores the TTL', async () => {
  await dns.apply(table(target('blue', 'v1'), null));
  await clock.advance(400_000); // Long after the daemon started: only the lowering counts.
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await clock.advance(60_000); // The deployment's checks take a minute.
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  const drained = dns.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(0);
  // Lowered 60 s before the flip with a 300 s TTL: 240 s more, plus the 2 s margin.
  assert.deepEqual(clock.pendingSleeps(), [242_000]);
  await clock.advance(241_000);
  assert.deepEqual(drains, [], 'not drained before the TTL bound');
  await clock.advance(1000);
  const result = await drained;
  assert.equal(result.cancelled, false);
  assert.equal(result.durationMs, 242_000);
  assert.deepEqual(drains, [{ app: 'shop', color: 'blue' }]);
  assert.deepEqual(published.at(-1), { address: '127.0.0.3', ttl: 300 });
  assert.deepEqual(dns.dnsApps()[0]?.serving, { blue: false, green: true });
});

void test('a lowering long enough before the flip leaves the low TTL as the bound', async () => {
  await dns.apply(table(target('blue', 'v1'), null));
  await clock.advance(400_000);
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await clock.advance(400_000);
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  const drained = dns.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(0);
  assert.deepEqual(clock.pendingSleeps(), [7000], 'lowTtl 5 s + margin 2 s');
  await clock.advance(7000);
  assert.equal((await drained).cancelled, false);
});

void test('a rollback during the wait cancels the drain and publishes the old address again', async () => {
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  const drained = dns.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(1000);
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  const result = await drained;
  assert.equal(result.cancelled, true);
  assert.deepEqual(drains, []);
  assert.deepEqual(published.at(-1), { address: '127.0.0.2', ttl: 5 });
});

void test('a failed flip update fails apply; a failed lowering does not', async () => {
  await dns.apply(table(target('blue', 'v1'), null));
  failNext = new CutoverError('CUTOVER_ERR_DNS_REFUSED', 'refused');
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  assert.deepEqual(published, [{ address: '127.0.0.2', ttl: 300 }], 'the lowering failed');
  failNext = new CutoverError('CUTOVER_ERR_DNS_UNREACHABLE', 'no answer');
  await assert.rejects(dns.apply(table(target('green', 'v2'), target('blue', 'v1'))), /no answer/);
  // The controller puts the old table back: the record never moved, so nothing is sent.
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  assert.equal(published.length, 1);
});

void test('requests to the old color after the flip are stragglers in describe()', async () => {
  await dns.apply(table(target('blue', 'v1'), null));
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  const [view] = dns.dnsApps();
  assert.ok(view !== undefined);
  const { port } = view.listeners.blue;
  // No upstream: the router answers 502/503, still a request that reached the old color.
  const response = await fetch(`http://127.0.0.2:${port}/`);
  await response.arrayBuffer();
  const snapshot = await dns.describe();
  assert.equal(snapshot.apps.shop?.blue.stragglers, 1);
  assert.equal(snapshot.apps.shop?.green.stragglers, 0);
  assert.equal(snapshot.apps.shop?.blue.requests, 1);
});

void test('a restarting daemon serves its stored live color on that color’s address from the start', async () => {
  const restarted = await createDnsTrafficSwitch({
    inner,
    config: CONFIG,
    clock,
    client,
    table: table(target('blue', 'v1'), target('green', 'v2')),
  });
  opened.push(restarted);
  const [view] = restarted.dnsApps();
  assert.ok(view !== undefined);
  const body = async (host: string, port: number): Promise<string> =>
    (await fetch(`http://${host}:${port}/`)).text();
  // Blue is live: its route is there (no instance to answer here, so not "no live color").
  const blueBody = await body('127.0.0.2', view.listeners.blue.port);
  assert.match(blueBody, /CUTOVER_ERR_UPSTREAM/, blueBody);
  assert.match(await body('127.0.0.3', view.listeners.green.port), /ROUTE_NO_LIVE/);
  assert.deepEqual(published, [], 'the record is checked at the first apply, not before');
});

void test('two drains of the same color both wait and both complete', async () => {
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  const options = { timeoutMs: 1000, websocketGraceMs: 100 };
  const first = dns.drain('shop', 'blue', options);
  const second = dns.drain('shop', 'blue', options);
  await clock.advance(302_000);
  assert.deepEqual(
    (await Promise.all([first, second])).map((each) => each.cancelled),
    [false, false],
  );
});
