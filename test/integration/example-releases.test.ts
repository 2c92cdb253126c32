// The shop example's releases (examples/shop/vN), each started as a real process the way its
// cutover.yaml says: v1 and v2 pass their smoke checks, v3 fails its smoke check, v4 passes its
// smoke checks but starts failing under a burst of plain requests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { AppConfig, HttpSmokeCheck, JsonScalar } from '../../src/core/app-config.ts';
import { loadAppConfigFromDir } from '../../src/config/load-app-config.ts';

const SHOP_DIR = resolve(import.meta.dirname, '../../examples/shop');
const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;
const BURST_REQUESTS = 40;

interface Release {
  readonly config: AppConfig;
  readonly port: number;
  readonly child: ChildProcess;
}

const running = new Set<ChildProcess>();

after(async () => {
  await Promise.all([...running].map((child) => stop(child)));
});

/** Starts one instance of the release in `dir` as its cutover.yaml says, on a free port. */
async function startRelease(name: string): Promise<Release> {
  const dir = resolve(SHOP_DIR, name);
  const config = await loadAppConfigFromDir(dir);
  assert.ok(config.start !== null, `${name} has a start command`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.env)) {
    assert.equal(value.kind, 'value', `${name}: env ${key} is a literal`);
    if (value.kind === 'value') env[key] = value.value;
  }
  // `exec`, so the child is the app itself and its exit code is the app's; its own process
  // group, so a stop reaches anything the command started.
  const child = spawn('/bin/sh', ['-c', `exec ${config.start}`], {
    cwd: resolve(dir, config.cwd),
    env: { ...process.env, ...env, PORT: '0', CUTOVER_RELEASE: name },
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not print its ready line`));
    }, READY_TIMEOUT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const parsed = JSON.parse(line) as { ready?: boolean; port?: number };
      if (parsed.ready === true && typeof parsed.port === 'number') resolvePort(parsed.port);
      else reject(new Error(`${name} printed ${line}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready`));
    });
  });
  return { config, port: await ready, child };
}

/** SIGTERM to the group, then SIGKILL if it lingers; resolves with the exit code. */
async function stop(child: ChildProcess): Promise<number | null> {
  if (!running.has(child)) return child.exitCode;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
  const [code] =
    child.exitCode === null && child.signalCode === null ? await exited : [child.exitCode];
  clearTimeout(timer);
  running.delete(child);
  return code;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.pid <= 1) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Evaluates one smoke check as the schema defines it: status, body text, JSON fields. */
async function runSmokeCheck(port: number, check: HttpSmokeCheck): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${port}${check.path}`, {
    method: check.method,
    signal: AbortSignal.timeout(check.timeoutMs),
  });
  const body = await response.text();
  const failures: string[] = [];
  if (response.status !== check.status) {
    failures.push(`${check.path}: status ${response.status}, expected ${check.status}`);
  }
  if (check.bodyContains !== null && !body.includes(check.bodyContains)) {
    failures.push(`${check.path}: body lacks ${JSON.stringify(check.bodyContains)}`);
  }
  const fields = Object.entries(check.json);
  if (fields.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [...failures, `${check.path}: body is not JSON`];
    }
    for (const [field, expected] of fields) {
      const actual = fieldAt(parsed, field);
      if (actual !== expected) {
        failures.push(`${check.path}: ${field} is ${JSON.stringify(actual)}, expected ${expected}`);
      }
    }
  }
  return failures;
}

function fieldAt(value: unknown, dotted: string): JsonScalar | undefined {
  let current = value;
  for (const key of dotted.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current as JsonScalar | undefined;
}

async function runSmokeChecks(release: Release): Promise<string[]> {
  const failures: string[] = [];
  for (const check of release.config.smoke) {
    assert.equal(check.kind, 'http', 'the shop releases use HTTP smoke checks');
    if (check.kind === 'http') failures.push(...(await runSmokeCheck(release.port, check)));
  }
  return failures;
}

async function getStatus(port: number, path: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(2_000),
  });
  await response.arrayBuffer();
  return response.status;
}

void test('every release cutover.yaml loads and runs the shared app with two instances', async () => {
  for (const name of ['v1', 'v2', 'v3', 'v4']) {
    const config = await loadAppConfigFromDir(resolve(SHOP_DIR, name));
    assert.equal(config.app, 'shop');
    assert.equal(config.start, 'node ../app/server.js');
    assert.equal(config.instances, 2);
    assert.equal(config.health.path, '/healthz');
    assert.ok(config.smoke.length >= 1, `${name} has smoke checks`);
    assert.ok(config.switch.probeWindowMs <= 10_000, `${name} has a short probe window`);
    assert.equal(config.switch.autoRollback, true);
    assert.deepEqual(config.env.SHOP_VERSION, { kind: 'value', value: name });
  }
});

void test('v1 and v2 pass their smoke checks and answer with their own version', async () => {
  const [v1, v2] = await Promise.all([startRelease('v1'), startRelease('v2')]);
  assert.deepEqual(await runSmokeChecks(v1), []);
  assert.deepEqual(await runSmokeChecks(v2), []);
  assert.equal(await getStatus(v1.port, '/healthz'), 200);
  const home = async (port: number) =>
    (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as Record<string, unknown>;
  const [one, two] = await Promise.all([home(v1.port), home(v2.port)]);
  assert.equal(one.version, 'v1');
  assert.equal(two.version, 'v2');
  assert.notEqual(one.message, two.message);
  // The WebSocket says hello with the version, then echoes.
  const socket = new WebSocket(`ws://127.0.0.1:${v2.port}/ws`);
  const messages: string[] = [];
  socket.on('message', (data: Buffer) => messages.push(data.toString('utf8')));
  await once(socket, 'open');
  socket.send('ping');
  const deadline = Date.now() + 2_000;
  while (messages.length < 2 && Date.now() < deadline) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  assert.equal((JSON.parse(messages[0] ?? '{}') as { version?: string }).version, 'v2');
  assert.equal(messages[1], 'ping');
  // SIGTERM is graceful: the open WebSocket is closed with 1001 and the process exits 0.
  const closed = once(socket, 'close') as Promise<[number]>;
  assert.equal(await stop(v2.child), 0);
  assert.equal((await closed)[0], 1001);
  assert.equal(await stop(v1.child), 0);
});

void test('v3 is healthy but fails its smoke check', async () => {
  const v3 = await startRelease('v3');
  assert.equal(await getStatus(v3.port, v3.config.health.path), 200);
  const failures = await runSmokeChecks(v3);
  assert.ok(
    failures.some((failure) => failure.startsWith('/api/products: status 500')),
    `expected the catalog smoke check to fail, got ${JSON.stringify(failures)}`,
  );
  assert.equal(await stop(v3.child), 0);
});

void test('v4 passes health, smoke and warm-up, then fails under a burst of requests', async () => {
  const v4 = await startRelease('v4');
  assert.equal(await getStatus(v4.port, v4.config.health.path), 200);
  assert.deepEqual(await runSmokeChecks(v4), []);
  // The warm-up's share of one instance (requests split over the instances) still succeeds.
  const warmupShare = Math.ceil(v4.config.warmup.requests / v4.config.instances);
  const paths = v4.config.warmup.paths;
  for (let index = 0; index < warmupShare; index += 1) {
    assert.equal(await getStatus(v4.port, paths[index % paths.length] ?? '/'), 200);
  }
  const statuses: number[] = [];
  for (let index = 0; index < BURST_REQUESTS; index += 1) {
    statuses.push(await getStatus(v4.port, '/'));
  }
  const firstFailure = statuses.indexOf(500);
  assert.ok(firstFailure >= 0, `expected 500s under traffic, got ${statuses.join(',')}`);
  assert.ok(
    statuses.slice(firstFailure).every((status) => status === 500),
    `once failing it keeps failing: ${statuses.join(',')}`,
  );
  // Health checks keep passing, so only real traffic (and cutover's probes) sees the fault.
  assert.equal(await getStatus(v4.port, v4.config.health.path), 200);
  // The probes of the switch window hit the failing paths.
  for (const path of v4.config.switch.probePaths) {
    assert.equal(await getStatus(v4.port, path), 500);
  }
  assert.equal(await stop(v4.child), 0);
});
