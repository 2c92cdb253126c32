// The smoke checks on the shadow with real processes: one instance on the shadow's URL, its
// health and smoke checks, its stop (SIGTERM, SIGKILL after the stop timeout), and no process
// left behind, even when the process running the check is killed with SIGKILL.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppConfig, SmokeCheck } from '../../core/app-config.ts';
import { createShadowSmokeCheck } from './shadow-smoke-check.ts';
import type { ShadowSmokeCheckOptions } from './shadow-smoke-check.ts';

// Writes its pid to $PID_FILE; answers /healthz, GET / with the database URLs it was given, and
// POST /orders with 201, or 500 when the database URL names a broken shadow.
const APP_JS = `import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
writeFileSync(process.env.PID_FILE, String(process.pid));
if (process.env.APP_MODE === 'crash') { console.error('cannot open the database'); process.exit(3); }
if (process.env.APP_MODE === 'stubborn') process.on('SIGTERM', () => {});
const server = createServer((req, res) => {
  if (req.url === '/healthz') return res.end(process.env.APP_MODE === 'sick' ? (res.statusCode = 503, 'no') : 'ok');
  if (req.method === 'POST') {
    res.statusCode = process.env.DATABASE_URL.includes('broken') ? 500 : 201;
    return res.end('{}');
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ url: process.env.DATABASE_URL, cutover: process.env.CUTOVER_DATABASE_URL, host: req.headers.host }));
});
if (process.env.APP_MODE !== 'stubborn') process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

const HEALTH: AppConfig['health'] = {
  path: '/healthz',
  intervalMs: 20,
  timeoutMs: 1_000,
  rise: 2,
  fall: 2,
  startTimeoutMs: 10_000,
};

const SMOKE: SmokeCheck[] = [
  {
    kind: 'http',
    path: '/',
    method: 'GET',
    status: 200,
    bodyContains: null,
    json: { url: 'sqlite:/shadow/ok.db', cutover: 'sqlite:/shadow/ok.db', host: 'shop.test' },
    timeoutMs: 2_000,
  },
  {
    kind: 'http',
    path: '/orders',
    method: 'POST',
    status: 201,
    bodyContains: null,
    json: {},
    timeoutMs: 2_000,
  },
];

let dir: string;
let pidFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-shadow-smoke-'));
  pidFile = join(dir, 'app.pid');
  await writeFile(join(dir, 'app.mjs'), APP_JS);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function optionsFor(mode: string, overrides: Partial<ShadowSmokeCheckOptions> = {}) {
  return {
    release: 'v2',
    app: 'shop',
    spec: {
      dir,
      command: 'node app.mjs',
      env: { APP_MODE: mode, PID_FILE: pidFile, DATABASE_URL: 'sqlite:/production.db' },
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 2_000,
    },
    urlEnv: 'DATABASE_URL',
    health: HEALTH,
    smoke: SMOKE,
    host: 'shop.test',
    releaseDir: dir,
    ...overrides,
  } satisfies ShadowSmokeCheckOptions;
}

/** Alive and not a zombie (an orphan waits for init, which may be slow to reap it here). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !(await isZombie(pid));
}

async function appPid(): Promise<number> {
  return Number(await readFile(pidFile, 'utf8'));
}

void test('starts one instance on the shadow URL, runs the smoke checks, and stops it', async () => {
  const outcome = await createShadowSmokeCheck(optionsFor('ok'))('sqlite:/shadow/ok.db');
  assert.deepEqual(
    outcome.checks.map((check) => [check.name, check.passed]),
    [
      ['an instance of v2 started on the shadow', true],
      ['smoke check GET /', true],
      ['smoke check POST /orders', true],
    ],
    JSON.stringify(outcome.checks),
  );
  assert.equal(outcome.passed, true);
  assert.ok(outcome.checks.every((check) => check.durationMs >= 0));
  assert.equal(await isRunning(await appPid()), false, 'the instance is stopped');
});

void test('a smoke check failing on the shadow is named with what it saw', async () => {
  const outcome = await createShadowSmokeCheck(optionsFor('ok'))('postgres://h/broken_shadow');
  assert.equal(outcome.passed, false);
  const failed = outcome.checks.filter((check) => !check.passed);
  assert.deepEqual(
    failed.map((check) => [check.name, check.detail]),
    [
      [
        'smoke check GET /',
        'JSON field url is "postgres://h/broken_shadow", expected "sqlite:/shadow/ok.db"',
      ],
      ['smoke check POST /orders', 'status 500, expected 201'],
    ],
  );
  assert.equal(await isRunning(await appPid()), false);
});

void test('an instance that exits before its health check passes fails with its output', async () => {
  const outcome = await createShadowSmokeCheck(optionsFor('crash'))('sqlite:/shadow/ok.db');
  assert.equal(outcome.passed, false);
  assert.equal(outcome.checks.length, 1, 'no smoke check runs without a healthy instance');
  assert.match(
    outcome.checks[0]?.detail ?? '',
    /^it exited \(exit code 3\) before passing its health check: cannot open the database$/,
  );
});

void test('an instance that never gets healthy fails after health.startTimeout', async () => {
  const started = performance.now();
  const outcome = await createShadowSmokeCheck(
    optionsFor('sick', { health: { ...HEALTH, startTimeoutMs: 3_000 } }),
  )('sqlite:/shadow/ok.db');
  assert.equal(outcome.passed, false);
  assert.equal(outcome.checks[0]?.detail, 'not healthy within 3000 ms (GET /healthz: status 503)');
  // Bounded by the start timeout, plus the stop.
  assert.ok(performance.now() - started < 8_000);
  assert.equal(await isRunning(await appPid()), false);
});

void test('an instance ignoring SIGTERM is killed after stop.timeout', async () => {
  const started = performance.now();
  const options = optionsFor('stubborn');
  const outcome = await createShadowSmokeCheck({
    ...options,
    spec: { ...options.spec, stopTimeoutMs: 300 },
  })('sqlite:/shadow/ok.db');
  assert.equal(outcome.passed, true, JSON.stringify(outcome.checks));
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 300 && elapsed < 10_000, `${elapsed} ms`);
  assert.equal(await isRunning(await appPid()), false);
});

void test('the instance dies with the process running the check, even on SIGKILL', async () => {
  await rm(pidFile, { force: true });
  const module = new URL('./shadow-smoke-check.ts', import.meta.url).href;
  // A stand-in for the daemon: runs a check whose instance never gets healthy, so it stays up.
  const script = `
    import { createShadowSmokeCheck } from ${JSON.stringify(module)};
    const options = JSON.parse(process.argv[1]);
    await createShadowSmokeCheck(options)('sqlite:/shadow/ok.db');
  `;
  const options = optionsFor('sick', { health: { ...HEALTH, startTimeoutMs: 60_000 } });
  const runner = spawn(
    process.execPath,
    ['--input-type=module', '-e', script, JSON.stringify(options)],
    {
      stdio: 'ignore',
    },
  );
  try {
    let pid = 0;
    for (let i = 0; i < 400 && pid === 0; i += 1) {
      await delay(25);
      pid = await appPid().catch(() => 0);
    }
    assert.ok(pid > 0, 'the instance started');
    assert.equal(await isRunning(pid), true);
    runner.kill('SIGKILL');
    let alive = true;
    for (let i = 0; i < 200 && alive; i += 1) {
      await delay(25);
      alive = await isRunning(pid);
    }
    assert.equal(alive, false, 'the instance outlived the killed daemon');
  } finally {
    runner.kill('SIGKILL');
  }
});

async function isZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state === undefined || state === 'Z' || state === 'X' || stat === '';
}

void test('a release directory that is gone fails the check, saying what to do', async () => {
  const options = optionsFor('ok');
  const outcome = createShadowSmokeCheck({
    ...options,
    spec: { ...options.spec, dir: join(dir, 'deleted-release') },
  })('sqlite:/shadow/ok.db');
  await assert.rejects(
    outcome,
    /could not start `node app\.mjs` in .*deleted-release \(could not start: spawn \/bin\/sh ENOENT\): keep a release's directory/,
  );
});

void test('an abort stops the wait for health at once, and the instance with it', async () => {
  const controller = new AbortController();
  const started = performance.now();
  const check = createShadowSmokeCheck({
    ...optionsFor('sick', { health: { ...HEALTH, startTimeoutMs: 60_000 } }),
    signal: controller.signal,
  })('sqlite:/shadow/ok.db');
  setTimeout(() => controller.abort(), 500);
  const outcome = await check;
  assert.equal(outcome.passed, false);
  assert.equal(outcome.checks[0]?.detail, 'stopped before it passed its health check');
  assert.ok(performance.now() - started < 10_000);
  assert.equal(await isRunning(await appPid()), false);
});
