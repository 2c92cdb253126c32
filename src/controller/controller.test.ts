// Controller tests: a real SqliteStateStore in a temp dir, real health checks against real
// upstream HTTP servers, and a small recording TrafficSwitch (the builtin one is exercised
// in test/integration/controller-router.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import { createExternalRuntime } from '../adapters/runtime/external/external-runtime.ts';
import { createSqliteStateStore } from '../adapters/state-store/sqlite/sqlite-state-store.ts';
import { isCutoverError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { RoutingTable } from '../core/routing-table.ts';
import { EMPTY_ROUTING_TABLE } from '../core/routing-table.ts';
import type { Color, HealthCheckSpec } from '../core/types.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { DrainOptions, TrafficSwitch } from '../ports/traffic-switch.ts';
import { createHealthChecker } from '../probes/health-checker.ts';
import type { HealthChecker } from '../probes/health-checker.ts';
import { Controller } from './controller.ts';

const clock = createSystemClock();
const logger = pino({ level: 'silent' });
const FAST: Partial<HealthCheckSpec> = { intervalMs: 15, timeoutMs: 200, rise: 2, fall: 2 };
const ACTOR = { actor: 'test-user' };

interface RecordingTraffic extends TrafficSwitch {
  readonly applied: RoutingTable[];
  readonly drains: { app: string; color: Color; options: DrainOptions }[];
  current: RoutingTable;
  failApply: boolean;
  /** Merged like the router does: the last verdict heard per address. */
  health: Map<string, boolean>;
}

function createRecordingTraffic(): RecordingTraffic {
  const traffic: RecordingTraffic = {
    applied: [],
    drains: [],
    current: EMPTY_ROUTING_TABLE,
    failApply: false,
    health: new Map(),
    apply(table) {
      if (traffic.failApply) return Promise.reject(new Error('router worker did not ack'));
      traffic.applied.push(table);
      if (table.generation >= traffic.current.generation) traffic.current = table;
      return Promise.resolve({ generation: table.generation, durationMs: 0.1, workers: 1 });
    },
    drain(app, color, options) {
      traffic.drains.push({ app, color, options });
      return Promise.resolve({
        app,
        color,
        completed: 3,
        aborted: 0,
        websocketsClosed: 1,
        durationMs: 5,
        cancelled: false,
      });
    },
    setUpstreamHealth(health) {
      for (const [address, up] of health) traffic.health.set(address, up);
    },
    describe() {
      return Promise.resolve({
        generation: traffic.current.generation,
        workers: 1,
        apps: {
          shop: {
            blue: { inflight: 2, websockets: 0, requests: 10, failed: 0, serverErrors: 0 },
            green: { inflight: 0, websockets: 1, requests: 4, failed: 0, serverErrors: 0 },
          },
        },
      });
    },
    close: () => Promise.resolve(),
  };
  return traffic;
}

/** An upstream whose health answer the test can change. */
interface Upstream {
  address: string;
  status: number;
  server: Server;
}

async function startUpstream(status = 200): Promise<Upstream> {
  const upstream = { address: '', status, server: createServer() };
  upstream.server.on('request', (_req, res) => {
    res.statusCode = upstream.status;
    res.end('ok');
  });
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
  upstream.address = `127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
  return upstream;
}

function expectCode(code: ErrorCode, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isCutoverError(error), `expected a CutoverError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

interface Rig {
  dir: string;
  store: StateStore;
  traffic: RecordingTraffic;
  health: HealthChecker;
  controller: Controller;
  upstreams: Upstream[];
}

let rig: Rig;

async function makeController(store: StateStore, traffic: TrafficSwitch, health: HealthChecker) {
  const controller = new Controller({
    store,
    traffic,
    runtime: createExternalRuntime(),
    clock,
    health,
    logger,
    drain: { timeoutMs: 1000, websocketGraceMs: 100 },
  });
  await controller.start();
  return controller;
}

beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-controller-'));
  const store = await createSqliteStateStore({ path: join(dir, 'state.db') });
  const traffic = createRecordingTraffic();
  const health = createHealthChecker({ clock });
  const controller = await makeController(store, traffic, health);
  rig = { dir, store, traffic, health, controller, upstreams: [] };
});

afterEach(async () => {
  await rig.controller.stop();
  rig.health.close();
  await rig.store.close();
  for (const upstream of rig.upstreams) {
    upstream.server.closeAllConnections();
    upstream.server.close();
  }
  await rm(rig.dir, { recursive: true, force: true });
});

async function upstreams(n: number, status = 200): Promise<Upstream[]> {
  const out: Upstream[] = [];
  for (let i = 0; i < n; i += 1) out.push(await startUpstream(status));
  rig.upstreams.push(...out);
  return out;
}

function deploy(release: string, instances: Upstream[], extra: Record<string, unknown> = {}) {
  return rig.controller.deploy(
    'shop',
    {
      release,
      instances: instances.map((u) => u.address),
      health: FAST,
      healthTimeoutMs: 2000,
      ...extra,
    },
    ACTOR,
  );
}

function liveOf(table: RoutingTable, app = 'shop') {
  return table.apps.find((route) => route.app === app)?.live ?? null;
}

void describe('Controller', () => {
  void it('starts on empty state, deploys the first release to blue and routes it', async () => {
    assert.equal(rig.traffic.current.generation, 0);
    const blue = await upstreams(2);
    const result = await deploy('v1', blue);
    assert.equal(result.color, 'blue');
    assert.equal(result.flip.from, null);
    assert.equal(result.flip.to, 'blue');
    assert.equal(result.flip.release, 'v1');
    assert.ok(result.flip.durationMs > 0);
    assert.ok(result.healthMs >= 0);
    const live = liveOf(rig.traffic.current);
    assert.deepEqual(live, { color: 'blue', release: 'v1', upstreams: blue.map((u) => u.address) });
    assert.equal(rig.traffic.drains.length, 0);
    const status = await rig.controller.status('shop');
    const app = status.apps[0];
    assert.equal(app?.live, 'blue');
    assert.equal(app?.colors.blue.role, 'live');
    assert.equal(app?.colors.blue.inflight, 2);
    assert.deepEqual(
      app?.colors.blue.instances.map((i) => i.id),
      ['shop-blue-1', 'shop-blue-2'],
    );
    assert.equal(app?.flips.at(-1)?.generation, result.flip.generation);
    assert.equal(app?.flips.at(-1)?.durationMs, result.flip.durationMs);
    assert.equal(status.revision, rig.controller.revision);
    const types = (await rig.controller.history({ app: 'shop' })).events.map((e) => e.type);
    assert.deepEqual(types, ['deploy-started', 'deploy-healthy', 'flipped']);
    const flipped = (await rig.controller.history({ app: 'shop' })).events.at(-1);
    assert.equal(flipped?.data.actor, 'test-user');
  });

  void it('a second deploy goes to green, keeps blue as standby and drains it; rollback flips back', async () => {
    const [b] = await upstreams(1);
    const [g] = await upstreams(1);
    await deploy('v1', [b!]);
    const second = await deploy('v2', [g!]);
    assert.equal(second.color, 'green');
    assert.equal(second.flip.from, 'blue');
    assert.ok(second.flip.generation > 0);
    assert.equal(liveOf(rig.traffic.current)?.color, 'green');
    // The idle color is served on the preview listener.
    assert.equal(rig.traffic.current.apps[0]?.idle?.release, 'v1');
    await clock.sleep(20);
    assert.deepEqual(
      rig.traffic.drains.map((d) => [d.app, d.color, d.options.timeoutMs]),
      [['shop', 'blue', 1000]],
    );
    // Wait until the standby's watch has judged it, as it would in a running daemon.
    await waitFor(() => rig.health.stateOf(b!.address).state === 'up');
    const back = await rig.controller.rollback('shop', { waitDrain: true }, ACTOR);
    assert.equal(back.from, 'green');
    assert.equal(back.to, 'blue');
    assert.equal(back.release, 'v1');
    assert.deepEqual(back.drain, {
      completed: 3,
      aborted: 0,
      websocketsClosed: 1,
      durationMs: 5,
      cancelled: false,
    });
    assert.equal(liveOf(rig.traffic.current)?.release, 'v1');
    const status = (await rig.controller.status()).apps[0];
    assert.equal(status?.standby, 'green');
    assert.equal(status?.colors.green.role, 'standby');
    assert.deepEqual(
      status?.flips.map((f) => f.kind),
      ['deploy', 'deploy', 'rollback'],
    );
    const types = (await rig.controller.history({ app: 'shop' })).events.map((e) => e.type);
    assert.ok(types.includes('rolled-back'));
    assert.ok(types.includes('drained'));
  });

  void it('a failing health check means no flip, a clear error, and the app as it was', async () => {
    const [b] = await upstreams(1);
    const [bad] = await upstreams(1, 503);
    await deploy('v1', [b!]);
    const before = rig.traffic.current;
    await assert.rejects(
      rig.controller.deploy(
        'shop',
        { release: 'v2', instances: [bad!.address], health: FAST, healthTimeoutMs: 300 },
        ACTOR,
      ),
      expectCode('CUTOVER_ERR_HEALTH_FAILED', new RegExp(`${bad!.address} \\(status 503\\)`)),
    );
    assert.equal(liveOf(rig.traffic.current)?.release, 'v1');
    assert.deepEqual(liveOf(rig.traffic.current), liveOf(before));
    const app = (await rig.controller.status('shop')).apps[0];
    assert.equal(app?.live, 'blue');
    assert.equal(app?.colors.green.release, null);
    const last = (await rig.controller.history({ app: 'shop' })).events.at(-1);
    assert.equal(last?.type, 'deploy-failed');
    // The failed instance was judged down while it was checked; once no release uses it, the
    // router must not keep it marked down for a later release on the same address.
    assert.notEqual(rig.traffic.health.get(bad!.address), false);
    assert.equal(rig.health.stateOf(bad!.address).state, 'unknown');
    assert.equal(last?.data.code, 'CUTOVER_ERR_HEALTH_FAILED');
    // A failed first deploy leaves no app behind.
    const [down] = await upstreams(1, 500);
    await assert.rejects(
      rig.controller.deploy(
        'blog',
        {
          release: 'v1',
          instances: [down!.address],
          hosts: ['blog.test'],
          health: FAST,
          healthTimeoutMs: 200,
        },
        ACTOR,
      ),
      expectCode('CUTOVER_ERR_HEALTH_FAILED'),
    );
    await assert.rejects(rig.controller.status('blog'), expectCode('CUTOVER_ERR_APP_NOT_FOUND'));
  });

  void it('refuses to flip to an unhealthy color; live traffic is unchanged', async () => {
    const [b] = await upstreams(1);
    const [g] = await upstreams(1);
    await deploy('v1', [b!]);
    await deploy('v2', [g!]);
    b!.status = 500;
    await waitFor(() => rig.health.stateOf(b!.address).state === 'down');
    const generation = rig.traffic.current.generation;
    await assert.rejects(
      rig.controller.flip('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_FLIP_UNHEALTHY', /status 500/),
    );
    await assert.rejects(
      rig.controller.rollback('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_FLIP_UNHEALTHY'),
    );
    assert.equal(rig.traffic.current.generation, generation);
    assert.equal(liveOf(rig.traffic.current)?.color, 'green');
    // The router hears about it too.
    assert.equal(rig.traffic.health.get(b!.address), false);
    b!.status = 200;
    await waitFor(() => rig.health.stateOf(b!.address).state === 'up');
    const flipped = await rig.controller.flip('shop', { to: 'blue' }, ACTOR);
    assert.equal(flipped.to, 'blue');
    await assert.rejects(
      rig.controller.flip('shop', { to: 'blue' }, ACTOR),
      expectCode('CUTOVER_ERR_USAGE', /already live/),
    );
  });

  void it('a stale If-Match is 412 before anything changes', async () => {
    const [b] = await upstreams(1);
    await deploy('v1', [b!]);
    const revision = rig.controller.revision;
    const applied = rig.traffic.applied.length;
    await assert.rejects(
      rig.controller.deploy(
        'shop',
        { release: 'v2', instances: [b!.address] },
        { ...ACTOR, ifMatch: revision - 1 },
      ),
      expectCode('CUTOVER_ERR_STATE_CONFLICT'),
    );
    await assert.rejects(
      rig.controller.flip('shop', {}, { ...ACTOR, ifMatch: revision + 5 }),
      expectCode('CUTOVER_ERR_STATE_CONFLICT'),
    );
    assert.equal(rig.controller.revision, revision);
    assert.equal(rig.traffic.applied.length, applied);
    // The current revision is accepted.
    await rig.controller.deploy(
      'shop',
      { release: 'v2', instances: [b!.address], health: FAST },
      { ...ACTOR, ifMatch: revision },
    );
  });

  void it('20 concurrent deploys of one app: exactly one proceeds, the others are refused naming it', async () => {
    const [b] = await upstreams(1);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        rig.controller.deploy(
          'shop',
          { release: `v${i}`, instances: [b!.address], health: FAST },
          { actor: `user-${i}` },
        ),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1);
    const winner = ok[0]?.status === 'fulfilled' ? ok[0].value.release : '';
    for (const result of results) {
      if (result.status === 'rejected') {
        expectCode('CUTOVER_ERR_APP_LOCKED')(result.reason);
        assert.match((result.reason as Error).message, new RegExp(`deploy ${winner},`));
      }
    }
    // The lock is free again afterwards.
    await deploy('v-next', [b!]);
  });

  void it('refuses a host claimed by another app and a second catch-all', async () => {
    const [b] = await upstreams(1);
    await deploy('v1', [b!], { hosts: ['shop.test'] });
    const blog = { release: 'v1', instances: [b!.address], health: FAST };
    await assert.rejects(
      rig.controller.deploy('blog', { ...blog, hosts: ['SHOP.test'] }, ACTOR),
      expectCode('CUTOVER_ERR_APP_HOSTS_CONFLICT', /"shop"/),
    );
    await rig.controller.deploy('blog', blog, ACTOR);
    await assert.rejects(
      rig.controller.deploy('wiki', blog, ACTOR),
      expectCode('CUTOVER_ERR_APP_HOSTS_CONFLICT', /catch-all/),
    );
    const routes = rig.traffic.current.apps.map((route) => [route.app, route.hosts]);
    assert.deepEqual(routes, [
      ['blog', []],
      ['shop', ['shop.test']],
    ]);
  });

  void it('bad input is a usage error naming the field, and changes nothing', async () => {
    const revision = rig.controller.revision;
    for (const [request, message] of [
      [{ release: 'v 1', instances: ['127.0.0.1:1'] }, /release id/],
      [{ release: 'v1', instances: ['nope'] }, /"nope"/],
      [{ release: 'v1', instances: [] }, /at least one/],
      [{ release: 'v1', instances: ['127.0.0.1:1'], health: { rise: 0 } }, /health\.rise/],
      [{ release: 'v1', instances: ['127.0.0.1:1'], healthTimeoutMs: -1 }, /healthTimeoutMs/],
      [{ release: 'v1', instances: ['127.0.0.1:1'], hosts: ['a b'] }, /Invalid host/],
    ] as const) {
      await assert.rejects(
        rig.controller.deploy('shop', request, ACTOR),
        expectCode('CUTOVER_ERR_USAGE', message),
      );
    }
    await assert.rejects(
      rig.controller.deploy('Shop!', { release: 'v1', instances: ['127.0.0.1:1'] }, ACTOR),
      expectCode('CUTOVER_ERR_USAGE', /app name/),
    );
    await assert.rejects(
      rig.controller.flip('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_APP_NOT_FOUND'),
    );
    await assert.rejects(rig.controller.history({ limit: 0 }), expectCode('CUTOVER_ERR_USAGE'));
    assert.equal(rig.controller.revision, revision);
  });

  void it('rollback with no standby is refused', async () => {
    const [b] = await upstreams(1);
    await deploy('v1', [b!]);
    await assert.rejects(
      rig.controller.rollback('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_ROLLBACK_NO_STANDBY'),
    );
  });

  void it('a failure while persisting a flip leaves the old color serving and reports it (A8)', async () => {
    const [b] = await upstreams(1);
    const [g] = await upstreams(1);
    await deploy('v1', [b!]);
    await deploy('v2', [g!]);
    await waitFor(() => rig.health.stateOf(b!.address).state === 'up');
    const real = rig.store;
    let failWrites = false;
    const flaky: StateStore = {
      ...real,
      load: () => real.load(),
      compareAndSwap: (revision, change) =>
        failWrites
          ? Promise.reject(new Error('disk I/O error'))
          : real.compareAndSwap(revision, change),
      watch: (listener) => real.watch(listener),
      acquireLock: (name, holder, ttl, options) => real.acquireLock(name, holder, ttl, options),
      appendHistory: (event) => real.appendHistory(event),
      listHistory: (query) => real.listHistory(query),
      saveDeployment: (record) => real.saveDeployment(record),
      getDeployment: (id) => real.getDeployment(id),
      listDeployments: (query) => real.listDeployments(query),
      putEffect: (entry) => real.putEffect(entry),
      getEffect: (key) => real.getEffect(key),
      close: () => Promise.resolve(),
    };
    await rig.controller.stop();
    rig.controller = await makeController(flaky, rig.traffic, rig.health);
    const generation = rig.traffic.current.generation;
    failWrites = true;
    await assert.rejects(
      rig.controller.rollback('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_FLIP_FAILED', /green still serves/),
    );
    assert.equal(rig.traffic.current.generation, generation);
    assert.equal(liveOf(rig.traffic.current)?.color, 'green');
    assert.equal((await real.load()).state.apps.shop?.live, 'green');
    failWrites = false;
    // The router refusing the table: the stored state is put back to match what serves.
    rig.traffic.failApply = true;
    await assert.rejects(
      rig.controller.rollback('shop', {}, ACTOR),
      expectCode('CUTOVER_ERR_FLIP_FAILED', /apply/),
    );
    rig.traffic.failApply = false;
    assert.equal((await real.load()).state.apps.shop?.live, 'green');
    assert.equal((await rig.controller.status('shop')).apps[0]?.live, 'green');
  });

  void it('a restarted controller routes exactly the stored state, never an empty table (B6)', async () => {
    const [b] = await upstreams(1);
    const [g] = await upstreams(1);
    await deploy('v1', [b!]);
    await deploy('v2', [g!]);
    const stored = rig.controller.revision;
    await rig.controller.stop();
    const fresh = createRecordingTraffic();
    rig.controller = await makeController(rig.store, fresh, rig.health);
    assert.equal(fresh.applied.length, 1);
    assert.equal(fresh.current.generation, stored);
    assert.equal(liveOf(fresh.current)?.release, 'v2');
    assert.equal(fresh.current.apps[0]?.idle?.release, 'v1');
    assert.equal(rig.controller.revision, stored);
  });

  void it('a corrupt record degrades only its own app (B7)', async () => {
    const [b] = await upstreams(1);
    await deploy('v1', [b!], { hosts: ['shop.test'] });
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(rig.dir, 'state.db'));
    db.prepare('INSERT INTO apps (name, record) VALUES (?, ?)').run('blog', '{"broken"');
    db.close();
    await rig.controller.stop();
    const fresh = createRecordingTraffic();
    rig.controller = await makeController(rig.store, fresh, rig.health);
    assert.deepEqual(
      fresh.current.apps.map((route) => route.app),
      ['shop'],
    );
    await assert.rejects(rig.controller.status('blog'), expectCode('CUTOVER_ERR_STATE_CORRUPT'));
    assert.deepEqual(
      rig.controller.corrupt.map((c) => c.app),
      ['blog'],
    );
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = clock.monotonicMs() + timeoutMs;
  while (!condition()) {
    if (clock.monotonicMs() > deadline) throw new Error('condition not met in time');
    await clock.sleep(10);
  }
}
