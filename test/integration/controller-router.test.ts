// The controller driving the real built-in router: deploys, flips and rollbacks under a
// bounded keep-alive load, with real upstream servers. Zero failed requests, and every
// request sent after a flip resolves lands on the new color (QUALITY.md A1, A7).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { createSystemClock } from '../../src/adapters/clock/system/system-clock.ts';
import { createExternalRuntime } from '../../src/adapters/runtime/external/external-runtime.ts';
import { createSqliteStateStore } from '../../src/adapters/state-store/sqlite/sqlite-state-store.ts';
import { createBuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import type { BuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { StateStore } from '../../src/ports/state-store.ts';
import { createHealthChecker } from '../../src/probes/health-checker.ts';
import type { HealthChecker } from '../../src/probes/health-checker.ts';

const FLIPS = 20;
const LOAD_CLIENTS = 4;
const MAX_LOAD_REQUESTS = 20_000;
const LOAD_TIME_LIMIT_MS = 20_000;
const HEALTH = { path: '/health', intervalMs: 20, timeoutMs: 300, rise: 2, fall: 2 };

const clock = createSystemClock();
const servers: Server[] = [];
let dir: string;
let store: StateStore;
let traffic: BuiltinTrafficSwitch;
let health: HealthChecker;
let controller: Controller;

async function upstream(name: string): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(req.url === '/health' ? 'ok' : name);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(port: number, agent: Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent, headers: { host: 'anything.test' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-controller-router-'));
  store = await createSqliteStateStore({ path: join(dir, 'state.db') });
  traffic = await createBuiltinTrafficSwitch({
    public: { host: '127.0.0.1', port: 0 },
    preview: { host: '127.0.0.1', port: 0 },
  });
  health = createHealthChecker({ clock });
  controller = new Controller({
    store,
    traffic,
    runtime: createExternalRuntime(),
    clock,
    health,
    logger: pino({ level: 'silent' }),
    drain: { timeoutMs: 2000, websocketGraceMs: 100 },
  });
  await controller.start();
});

after(async () => {
  await controller.stop();
  health.close();
  await traffic.close(1000);
  await store.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await rm(dir, { recursive: true, force: true });
});

void it('deploys, flips and rolls back under keep-alive load with zero failed requests', async () => {
  const publicPort = traffic.publicAddress.port;
  const previewPort = traffic.previewAddress.port;
  const v1 = await upstream('v1');
  const v2 = await upstream('v2');

  const first = await controller.deploy(
    'shop',
    { release: 'v1', instances: [v1], health: HEALTH },
    { actor: 'it' },
  );
  assert.equal(first.color, 'blue');
  assert.deepEqual(await get(publicPort, false), { status: 200, body: 'v1' });

  const second = await controller.deploy(
    'shop',
    { release: 'v2', instances: [v2], health: HEALTH },
    { actor: 'it' },
  );
  assert.equal(second.color, 'green');
  assert.deepEqual(await get(publicPort, false), { status: 200, body: 'v2' });
  // The idle color (the standby, v1) is on the preview listener.
  assert.deepEqual(await get(previewPort, false), { status: 200, body: 'v1' });
  // Both colors are judged healthy before flipping back and forth.
  const deadline = clock.monotonicMs() + 3000;
  while (health.stateOf(v1).state !== 'up' && clock.monotonicMs() < deadline) await clock.sleep(10);

  const agent = new Agent({ keepAlive: true, maxSockets: LOAD_CLIENTS });
  let stop = false;
  let sent = 0;
  const failures: string[] = [];
  const loadStarted = clock.monotonicMs();
  const load = Array.from({ length: LOAD_CLIENTS }, async () => {
    while (
      !stop &&
      sent < MAX_LOAD_REQUESTS &&
      clock.monotonicMs() - loadStarted < LOAD_TIME_LIMIT_MS
    ) {
      sent += 1;
      try {
        const res = await get(publicPort, agent);
        if (res.status !== 200 || (res.body !== 'v1' && res.body !== 'v2'))
          failures.push(`${res.status} ${res.body}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  });

  const durations: number[] = [];
  let expected = 'v2';
  for (let i = 0; i < FLIPS; i += 1) {
    await clock.sleep(15);
    const result =
      i % 2 === 0
        ? await controller.rollback('shop', {}, { actor: 'it' })
        : await controller.flip('shop', {}, { actor: 'it' });
    expected = expected === 'v1' ? 'v2' : 'v1';
    assert.equal(result.release, expected);
    durations.push(result.durationMs);
    // A request sent after the flip resolved lands on the new color, on a reused connection too.
    assert.equal((await get(publicPort, agent)).body, expected);
  }
  stop = true;
  await Promise.all(load);
  agent.destroy();

  assert.deepEqual(failures, []);
  assert.ok(sent > FLIPS, `sent ${sent} requests`);
  const status = await controller.status('shop');
  assert.equal(status.apps[0]?.flips.at(-1)?.release, expected);
  // The router runs the table of the last flip commit (the duration is recorded just after).
  assert.ok(status.generation <= status.revision && status.generation >= status.revision - 1);
  const sorted = [...durations].sort((a, b) => a - b);
  assert.ok(
    (sorted[Math.floor(sorted.length / 2)] ?? Infinity) < 100,
    `median flip ${sorted.join(', ')} ms`,
  );
});
