// QUALITY.md E1 (controller part): kill -9 a process running deploys, flips and rollbacks at a
// random moment, then restart on the same state: the stored state is consistent, every
// acknowledged flip is there, and the restarted controller routes exactly the stored live
// color (never an empty table).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pino } from 'pino';
import { createSystemClock } from '../../src/adapters/clock/system/system-clock.ts';
import { createExternalRuntime } from '../../src/adapters/runtime/external/external-runtime.ts';
import { createSqliteStateStore } from '../../src/adapters/state-store/sqlite/sqlite-state-store.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { RoutingTable } from '../../src/core/routing-table.ts';
import type { TrafficSwitch } from '../../src/ports/traffic-switch.ts';
import { createHealthChecker } from '../../src/probes/health-checker.ts';

const ROUNDS = 3;
const MIN_OPS_BEFORE_KILL = 6;
const ROUND_TIMEOUT_MS = 30_000;
/** Short, so a killed child's lock expires before the next round. */
const LOCK_TTL_MS = 400;

const src = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href;

// The child: a real controller with the built-in router, two upstreams, and a loop of
// mutations; it prints each acknowledged flip's generation and target color.
const CHILD = `
const LOCK_TTL_MS = ${LOCK_TTL_MS};
const { createServer } = await import('node:http');
const { pino } = await import('pino');
const { createSqliteStateStore } = await import(process.env.U_STORE);
const { createBuiltinTrafficSwitch } = await import(process.env.U_TRAFFIC);
const { createSystemClock } = await import(process.env.U_CLOCK);
const { createExternalRuntime } = await import(process.env.U_RUNTIME);
const { createHealthChecker } = await import(process.env.U_HEALTH);
const { Controller } = await import(process.env.U_CONTROLLER);
const listen = async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return '127.0.0.1:' + server.address().port;
};
const addresses = [await listen(), await listen()];
const clock = createSystemClock();
const store = await createSqliteStateStore({ path: process.env.STATE_PATH });
const traffic = await createBuiltinTrafficSwitch({
  public: { host: '127.0.0.1', port: 0 },
  preview: { host: '127.0.0.1', port: 0 },
});
const health = createHealthChecker({ clock });
const controller = new Controller({
  store, traffic, runtime: createExternalRuntime(), clock, health,
  logger: pino({ level: 'silent' }), drain: { timeoutMs: 200, websocketGraceMs: 50 },
  lock: { ttlMs: LOCK_TTL_MS, renewMs: 100 },
});
await controller.start();
const spec = { path: '/', intervalMs: 5, timeoutMs: 200, rise: 1, fall: 2 };
const actor = { actor: 'crash-test' };
for (let i = 0; i < 100000; i += 1) {
  let result;
  const op = i % 3;
  try {
    if (op === 0) {
      const deployed = await controller.deploy('shop', {
        release: 'r' + process.pid + '-' + i, instances: [addresses[i % 2]], health: spec,
      }, actor);
      result = deployed.flip;
    } else if (op === 1) {
      result = await controller.rollback('shop', {}, actor);
    } else {
      result = await controller.flip('shop', {}, actor);
    }
    process.stdout.write(JSON.stringify({ generation: result.generation, to: result.to, release: result.release }) + '\\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ refused: error.code }) + '\\n');
  }
}
`;

interface Ack {
  generation?: number;
  to?: string;
  release?: string;
  refused?: string;
}

function runUntilKilled(path: string): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', CHILD], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: {
        ...process.env,
        STATE_PATH: path,
        U_STORE: src('adapters/state-store/sqlite/sqlite-state-store.ts'),
        U_TRAFFIC: src('adapters/traffic/builtin/builtin-traffic-switch.ts'),
        U_CLOCK: src('adapters/clock/system/system-clock.ts'),
        U_RUNTIME: src('adapters/runtime/external/external-runtime.ts'),
        U_HEALTH: src('probes/health-checker.ts'),
        U_CONTROLLER: src('controller/controller.ts'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffered = '';
    let stderr = '';
    let killScheduled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child acknowledged ${acks.length} operations in time: ${stderr}`));
    }, ROUND_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) acks.push(JSON.parse(line) as Ack);
      if (
        acks.filter((a) => a.generation !== undefined).length >= MIN_OPS_BEFORE_KILL &&
        !killScheduled
      ) {
        killScheduled = true;
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 30));
      }
    });
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${stderr}`));
      else resolve(acks);
    });
  });
}

function recordingTraffic(applied: RoutingTable[]): TrafficSwitch {
  return {
    apply: (table) => {
      applied.push(table);
      return Promise.resolve({ generation: table.generation, durationMs: 0, workers: 1 });
    },
    drain: (app, color) =>
      Promise.resolve({
        app,
        color,
        completed: 0,
        aborted: 0,
        websocketsClosed: 0,
        durationMs: 0,
        cancelled: false,
      }),
    setUpstreamHealth: () => undefined,
    describe: () =>
      Promise.resolve({ generation: applied.at(-1)?.generation ?? 0, workers: 1, apps: {} }),
    close: () => Promise.resolve(),
  };
}

void it('kill -9 during deploys, flips and rollbacks: the restart routes the committed state', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-controller-crash-'));
  const path = join(dir, 'state.db');
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      const acks = await runUntilKilled(path);
      const flips = acks.filter((a) => a.generation !== undefined);
      const last = flips.at(-1);
      assert.ok(last?.generation !== undefined, `round ${round}: some flips were acknowledged`);
      for (const ack of acks) {
        if (ack.refused !== undefined) {
          // Only honest refusals: a flip to a color whose health is not proven yet, or none.
          assert.ok(
            [
              'CUTOVER_ERR_FLIP_NO_TARGET',
              'CUTOVER_ERR_FLIP_UNHEALTHY',
              'CUTOVER_ERR_ROLLBACK_NO_STANDBY',
              'CUTOVER_ERR_APP_LOCKED',
            ].includes(ack.refused),
            ack.refused,
          );
        }
      }

      const store = await createSqliteStateStore({ path });
      const { state, corrupt } = await store.load();
      assert.deepEqual(corrupt, []);
      const shop = state.apps.shop;
      assert.ok(shop !== undefined);
      // Every acknowledged flip is stored; at most the one in flight at the kill comes after it.
      const stored = shop.flips.find((flip) => flip.generation === last.generation);
      assert.ok(stored, `acknowledged flip ${last.generation} is stored`);
      assert.equal(stored.to, last.to);
      assert.ok(shop.live !== null && shop.environments[shop.live].release !== null);
      if (shop.standby !== null) assert.notEqual(shop.standby, shop.live);
      const newest = shop.flips.at(-1);
      assert.equal(newest?.to, shop.live);
      assert.ok((newest?.generation ?? Infinity) <= state.revision);

      // The restarted controller routes exactly that, from its first apply.
      const applied: RoutingTable[] = [];
      const health = createHealthChecker({ clock: createSystemClock() });
      const controller = new Controller({
        store,
        traffic: recordingTraffic(applied),
        runtime: createExternalRuntime(),
        clock: createSystemClock(),
        health,
        logger: pino({ level: 'silent' }),
      });
      await controller.start();
      const route = applied[0]?.apps.find((a) => a.app === 'shop');
      assert.equal(route?.live?.color, shop.live);
      assert.equal(route?.live?.release, shop.environments[shop.live].release?.id);
      assert.equal(applied[0]?.generation, state.revision);
      await controller.stop();
      health.close();
      await store.close();
      // The dead holder's lock expires after its TTL; the next round starts after that.
      await new Promise((resolve) => setTimeout(resolve, LOCK_TTL_MS + 100));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
