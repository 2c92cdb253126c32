// The DNS switch's decisions with a recording DNS client, a wrapped switch that only records,
// and a manual clock: when the TTL is lowered, what a flip publishes, how long a drain waits,
// and what a rollback cancels; and what the live color's own address does with the app's split
// and mirror. The pinned listeners and the instances behind them are real (loopback, port 0).
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppRoute, RouteTarget, RoutingTable } from '../../../core/routing-table.ts';
import { CutoverError } from '../../../core/errors.ts';
import type { Color } from '../../../core/types.ts';
import type { Clock } from '../../../ports/clock.ts';
import type { ColorTraffic, DrainReport, TrafficSwitch } from '../../../ports/traffic-switch.ts';
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

void test('requests to the old color after the flip are stragglers in describe()', async (t) => {
  const blue = await startInstance('blue');
  t.after(() => blue.close());
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  await dns.apply(table(v1, null));
  await dns.apply(table(target('green', 'v2'), v1));
  const [view] = dns.dnsApps();
  assert.ok(view !== undefined);
  // The old color serves its stragglers on its own address.
  assert.equal((await ask(view.listeners.blue.port, '127.0.0.2')).body, 'blue');
  const snapshot = await dns.describe();
  assert.equal(snapshot.apps.shop?.blue.stragglers, 1);
  assert.equal(snapshot.apps.shop?.green.stragglers, 0);
  assert.equal(snapshot.apps.shop?.blue.requests, 1);
});

void test('after a rolling flip the old color has no instances: its stragglers are served by the live color, and counted', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  await dns.apply(table({ color: 'blue', release: 'v1', upstreams: [blue.address] }, null));
  // The batches took v1's instances out of blue one by one; the flip leaves blue with none.
  await dns.apply(table(v2, { color: 'blue', release: 'v1', upstreams: [] }));
  const [view] = dns.dnsApps();
  assert.ok(view !== undefined);
  const straggler = await ask(view.listeners.blue.port, '127.0.0.2');
  assert.deepEqual([straggler.status, straggler.body], [200, 'green']);
  const snapshot = await dns.describe();
  assert.equal(snapshot.apps.shop?.blue.stragglers, 1);
  assert.equal(snapshot.apps.shop?.green.requests, 1);
  // Once blue is drained its address serves nobody again.
  const drained = dns.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(302_000);
  assert.equal((await drained).cancelled, false);
  assert.equal((await ask(view.listeners.blue.port, '127.0.0.2')).status, 503);
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
  // Green's address may still be held by clients of a flip before the restart: the live route
  // answers them too.
  const greenBody = await body('127.0.0.3', view.listeners.green.port);
  assert.match(greenBody, /CUTOVER_ERR_UPSTREAM/, greenBody);
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

/** An instance on loopback port 0 that answers its color; `/slow` answers after `slowMs`. */
async function startInstance(
  color: Color,
  slowMs = 0,
): Promise<{ address: string; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    const answer = (): void => {
      res.setHeader('content-type', 'text/plain');
      res.end(color);
    };
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ALLOW_HEADER = { name: 'x-canary', value: 'yes' };

function split(canary: RouteTarget, percent: number): NonNullable<AppRoute['split']> {
  return {
    color: canary.color,
    percent,
    sticky: true,
    allow: { header: ALLOW_HEADER, cookie: null },
    target: canary,
  };
}

function routed(
  live: RouteTarget,
  idle: RouteTarget,
  extra: Pick<AppRoute, 'split' | 'mirror'>,
): RoutingTable {
  return { generation: ++generation, apps: [{ app: 'shop', hosts: [], live, idle, ...extra }] };
}

/** One request to a listener of the switch: the color that answered and the bucket cookie set. */
async function ask(
  port: number,
  host: string,
  headers: Record<string, string> = {},
  path = '/',
): Promise<{ status: number; body: string; cookie: string | null }> {
  const response = await fetch(`http://${host}:${port}${path}`, { headers });
  const body = await response.text();
  const cookie = response.headers.get('set-cookie');
  return { status: response.status, body, cookie: cookie?.split(';')[0] ?? null };
}

void test('the live color’s own address applies the canary split, sticky with the allowlist, and its share counts for the canary', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  await dns.apply(routed(v1, v2, {}));
  await dns.apply(routed(v1, v2, { split: split(v2, 20) }));
  const [view] = dns.dnsApps();
  assert.ok(view !== undefined);
  const bluePort = view.listeners.blue.port;

  // Fresh clients: each gets a bucket cookie and the split's share (20 %: 12..28 % over 500).
  const clients = 500;
  const answers: { body: string; cookie: string | null }[] = [];
  for (let i = 0; i < clients; i++) answers.push(await ask(bluePort, '127.0.0.2'));
  assert.ok(answers.every((answer) => answer.cookie?.startsWith('cutover_shop=') === true));
  const onGreen = answers.filter((answer) => answer.body === 'green');
  const share = onGreen.length / clients;
  assert.ok(share > 0.12 && share < 0.28, `canary share ${share} over ${clients} fresh clients`);
  // Sticky: a client's cookie keeps it on its color; the allowlisted header is always the canary.
  const greenClient = onGreen[0]?.cookie ?? '';
  const blueClient = answers.find((answer) => answer.body === 'blue')?.cookie ?? '';
  for (let i = 0; i < 20; i++) {
    assert.equal((await ask(bluePort, '127.0.0.2', { cookie: greenClient })).body, 'green');
    assert.equal((await ask(bluePort, '127.0.0.2', { cookie: blueClient })).body, 'blue');
    const tester = await ask(bluePort, '127.0.0.2', { cookie: blueClient, 'x-canary': 'yes' });
    assert.equal(tester.body, 'green');
  }
  // The idle color's own address still serves nobody.
  assert.equal((await ask(view.listeners.green.port, '127.0.0.3')).status, 503);

  // The canary's requests through blue's address are green's in describe(), latency included;
  // none of them is a straggler.
  const snapshot = (await dns.describe()).apps.shop;
  assert.ok(snapshot !== undefined);
  const greenServed = onGreen.length + 40;
  const blueServed = clients - onGreen.length + 20;
  assert.equal(snapshot.green.requests, greenServed);
  assert.equal(snapshot.blue.requests, blueServed);
  const bucketed = (traffic: ColorTraffic): number =>
    (traffic.latency ?? []).reduce((total, count) => total + count, 0);
  assert.equal(bucketed(snapshot.green), greenServed);
  assert.equal(bucketed(snapshot.blue), blueServed);
  assert.deepEqual([snapshot.blue.stragglers, snapshot.green.stragglers], [0, 0]);

  // All traffic back: the split comes off blue's address in the same apply, cookie or header.
  await dns.apply(routed(v1, v2, { split: null }));
  for (let i = 0; i < 20; i++) {
    assert.equal((await ask(bluePort, '127.0.0.2', { cookie: greenClient })).body, 'blue');
    assert.equal((await ask(bluePort, '127.0.0.2', { 'x-canary': 'yes' })).body, 'blue');
  }
  assert.equal(green.received.length, greenServed, 'no request reached the canary after');
});

void test('a restarted daemon answers the other color’s address with the live release, as stragglers, until that color is drained', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v0 = { color: 'green' as const, release: 'v0', upstreams: [green.address] };
  const stored = routed(v1, v0, {});
  const restarted = await createDnsTrafficSwitch({
    inner,
    config: CONFIG,
    clock,
    client,
    table: stored,
  });
  opened.push(restarted);
  await restarted.apply(stored);
  const greenPort = restarted.dnsApps()[0]?.listeners.green.port ?? 0;
  // Clients still holding green's address from a flip before the restart: v1 answers them.
  for (let i = 0; i < 5; i++) {
    assert.equal((await ask(greenPort, '127.0.0.3')).body, 'blue');
  }
  assert.equal(green.received.length, 0, 'the release the record left is never served');
  assert.equal((await restarted.describe()).apps.shop?.green.stragglers, 5);
  // Its drain waits a full TTL plus the margin (nobody knows who holds it); then nobody.
  const drained = restarted.drain('shop', 'green', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(302_000);
  assert.equal((await drained).cancelled, false);
  assert.equal((await ask(greenPort, '127.0.0.3')).status, 503);
});

void test('the live color’s own address mirrors its requests to the idle color', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  await dns.apply(
    routed(v1, v2, {
      mirror: { color: 'green', maxPerSecond: 1000, maxBodyBytes: 1024, target: v2 },
    }),
  );
  const port = dns.dnsApps()[0]?.listeners.blue.port ?? 0;
  const requests = 10;
  for (let i = 0; i < requests; i++) {
    assert.equal((await ask(port, '127.0.0.2', {}, `/item/${i}`)).body, 'blue');
  }
  // Copies leave after the live response: wait for them, bounded.
  for (let i = 0; i < 100 && green.received.length < requests; i++) await delay(20);
  assert.equal(green.received.length, requests);
  assert.deepEqual(green.received, blue.received);
  const snapshot = (await dns.describe()).apps.shop;
  assert.equal(snapshot?.green.mirrored, requests);
  assert.equal(snapshot?.green.requests, 0, 'a mirrored copy is not a request served');
  assert.equal(snapshot?.blue.requests, requests);
});

void test('draining the canary color waits for its requests in flight on the live color’s address', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green', 300);
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  await dns.apply(routed(v1, v2, { split: split(v2, 5) }));
  const port = dns.dnsApps()[0]?.listeners.blue.port ?? 0;
  const slow = ask(port, '127.0.0.2', { 'x-canary': 'yes' }, '/slow');
  for (let i = 0; i < 100 && green.received.length === 0; i++) await delay(10);
  assert.deepEqual(green.received, ['GET /slow']);
  // The canary failed: the split comes off and the canary color is drained.
  await dns.apply(routed(v1, v2, { split: null }));
  const drained = dns.drain('shop', 'green', { timeoutMs: 5000, websocketGraceMs: 100 });
  await clock.advance(302_000); // The first table counts every color as held for a full TTL.
  const result = await drained;
  assert.equal(result.cancelled, false);
  assert.equal(result.completed, 1, 'the canary request in flight finished within the drain');
  assert.equal(result.aborted, 0);
  assert.equal((await slow).body, 'green');
});

void test('a daemon restarted mid-canary applies the stored split on the live color’s address from the first connection', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  const restarted = await createDnsTrafficSwitch({
    inner,
    config: CONFIG,
    clock,
    client,
    table: routed(v1, v2, { split: split(v2, 20) }),
  });
  opened.push(restarted);
  const port = restarted.dnsApps()[0]?.listeners.blue.port ?? 0;
  assert.equal((await ask(port, '127.0.0.2', { 'x-canary': 'yes' })).body, 'green');
  const fresh = await ask(port, '127.0.0.2');
  assert.match(fresh.cookie ?? '', /^cutover_shop=\d+$/, 'a fresh client gets its bucket');
});

/** Whether `host:port` can be listened on right now (the switch released it). */
function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

void test('a color address that cannot be listened on fails the start and releases the other color’s listener', async (t) => {
  // Green's address is taken; blue's is free on the same port.
  const taken = createNetServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.3', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const { port } = taken.address() as AddressInfo;
  assert.ok(await canListen('127.0.0.2', port), 'blue’s address is free before the start');
  const shop = CONFIG.apps.shop;
  assert.ok(shop !== undefined);
  const config: DnsConfig = {
    ...CONFIG,
    apps: {
      shop: {
        ...shop,
        colors: { blue: { host: '127.0.0.2', port }, green: { host: '127.0.0.3', port } },
      },
    },
  };
  await assert.rejects(
    createDnsTrafficSwitch({ inner, config, clock, client }),
    /cannot listen on a DNS color address/,
  );
  assert.ok(await canListen('127.0.0.2', port), 'blue’s listener was closed with the failure');
});

void test('a drain asked after close() reports cancelled at once instead of waiting for the TTL', async () => {
  const closing = await createDnsTrafficSwitch({ inner, config: CONFIG, clock, client });
  await closing.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await closing.apply(table(target('green', 'v2'), target('blue', 'v1')));
  await closing.close(100);
  const drained = closing.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(0);
  assert.deepEqual(clock.pendingSleeps(), [], 'no TTL wait left behind by a closed switch');
  assert.equal((await drained).cancelled, true);
});

void test('a daemon restarted mid-canary keeps the low TTL on the record: the flip after the steps waits lowTtl, not the normal TTL', async () => {
  const v1 = target('blue', 'v1');
  const v2 = target('green', 'v2');
  const stored = routed(v1, v2, { split: split(v2, 20) });
  const restarted = await createDnsTrafficSwitch({
    inner,
    config: CONFIG,
    clock,
    client,
    table: stored,
  });
  opened.push(restarted);
  await restarted.apply({ ...stored, generation: ++generation });
  assert.deepEqual(published, [{ address: '127.0.0.2', ttl: 5 }], 'the canary’s low TTL');
  // The steps go on for longer than the normal TTL, then the flip.
  await clock.advance(400_000);
  await restarted.apply(routed(v2, v1, { split: null }));
  const drained = restarted.drain('shop', 'blue', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(0);
  assert.deepEqual(clock.pendingSleeps(), [7000], 'lowTtl 5 s + margin 2 s');
  await clock.advance(7000);
  assert.equal((await drained).cancelled, false);
});

void test('a flip whose record update fails leaves the DNS side as before: the old color live, the new one not serving its address', async (t) => {
  const blue = await startInstance('blue');
  const green = await startInstance('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const v1 = { color: 'blue' as const, release: 'v1', upstreams: [blue.address] };
  const v2 = { color: 'green' as const, release: 'v2', upstreams: [green.address] };
  await dns.apply(table(v1, null));
  await dns.apply(table(v1, v2));
  failNext = new CutoverError('CUTOVER_ERR_DNS_UNREACHABLE', 'no answer');
  await assert.rejects(dns.apply(table(v2, v1)), /no answer/);
  const check = async (when: string): Promise<void> => {
    const [view] = dns.dnsApps();
    assert.ok(view !== undefined);
    assert.equal(view.live, 'blue', `${when}: the record never moved`);
    assert.deepEqual(view.serving, { blue: true, green: false }, when);
    assert.equal((await ask(view.listeners.blue.port, '127.0.0.2')).body, 'blue', when);
    // Green's release was never flipped to: its own address serves nobody.
    assert.equal((await ask(view.listeners.green.port, '127.0.0.3')).status, 503, when);
    const snapshot = (await dns.describe()).apps.shop;
    assert.deepEqual([snapshot?.blue.stragglers, snapshot?.green.stragglers], [0, 0], when);
  };
  await check('after the failed flip');
  // The controller puts the old table back.
  await dns.apply(table(v1, v2));
  await check('after the old table is back');
});

void test('a flip back whose record update fails leaves the drain of that color waiting, and it completes', async () => {
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await dns.apply(table(target('green', 'v2'), target('blue', 'v1')));
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2'))); // A rollback.
  const drained = dns.drain('shop', 'green', { timeoutMs: 1000, websocketGraceMs: 100 });
  await clock.advance(1000);
  failNext = new CutoverError('CUTOVER_ERR_DNS_UNREACHABLE', 'no answer');
  await assert.rejects(dns.apply(table(target('green', 'v2'), target('blue', 'v1'))), /no answer/);
  await dns.apply(table(target('blue', 'v1'), target('green', 'v2')));
  await clock.advance(302_000);
  const result = await drained;
  assert.equal(result.cancelled, false, 'green never served again: its drain goes on');
  assert.deepEqual(drains, [{ app: 'shop', color: 'green' }]);
  assert.deepEqual(dns.dnsApps()[0]?.serving, { blue: true, green: false });
});
