// `cutover deploy <release> --dir D` as users run it (`node bin/cutover.js`, not a TTY) against a
// real daemon that starts the shop example's real instances: v1 then v2 go live with a line per
// step, a drill rolls back and forward with zero failed requests, v3 fails its smoke check
// before the flip (exit 1), and history lists the deployments with their steps.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readInstanceRecords } from '../../src/adapters/runtime/process/instance-record.ts';
import type { DeploymentListResponse, DrillReport } from '../../src/client/api-types.ts';
import { CUTOVER_BIN, startTestDaemon } from '../helpers/daemon.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { startUpstream } from '../helpers/upstream.ts';

const SHOP_DIR = resolve(import.meta.dirname, '../../examples/shop');
const CLI_TIMEOUT_MS = 90_000;
const KILL_WAIT_MS = 5_000;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cutover(args: readonly string[]): Promise<CliRun> {
  const env = { ...process.env };
  delete env.CUTOVER_DATA_DIR;
  delete env.CUTOVER_ADMIN_URL;
  delete env.CUTOVER_ADMIN_TOKEN;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args, '--data-dir', running().dataDir],
      { env, timeout: CLI_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}

let daemon: TestDaemon | undefined;

function running(): TestDaemon {
  assert.ok(daemon, 'the daemon started in before()');
  return daemon;
}

/** The shop releases declare their database through the daemon's SHOP_DATABASE_URL: a SQLite
 * file in the daemon's own data dir, removed with it. */
function shopDatabaseEnv(dataDir: string): Record<string, string> {
  return { SHOP_DATABASE_URL: `sqlite:${join(dataDir, 'shop.db')}` };
}

before(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-cli-deploy-'));
  daemon = await startTestDaemon({
    dataDir,
    removeDataDirOnStop: false,
    env: shopDatabaseEnv(dataDir),
  });
});

after(async () => {
  if (daemon === undefined) return;
  await daemon.stop();
  // The process runtime's instances are detached from the daemon by design: end them here.
  const { records } = await readInstanceRecords(join(daemon.dataDir, 'instances', 'shop'));
  for (const record of records) {
    if (record.pgid > 1) signalGroup(record.pgid, 'SIGKILL');
  }
  const deadline = Date.now() + KILL_WAIT_MS;
  while (records.some((record) => isAlive(record.pid)) && Date.now() < deadline) await delay(50);
  await rm(daemon.dataDir, { recursive: true, force: true });
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function liveVersion(): Promise<string> {
  const reply = await running().get('public', '/');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<{ version: string }>().version;
}

function stepLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => /^[✓✗] /.test(line));
}

void test('deploy v1 then v2 from their folders: a line per step, exit 0, the release live', async () => {
  const first = await cutover(['deploy', 'v1', '--dir', join(SHOP_DIR, 'v1')]);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
  assert.ok(!first.stdout.includes('\x1b'), 'not a TTY: no escape codes');
  const steps = stepLines(first.stdout).map((line) => line.split(' ')[1]);
  for (const step of ['starting', 'smoke', 'warmup', 'flipping', 'verifying', 'standby']) {
    assert.ok(steps.includes(step), `${step} in ${steps.join(', ')}`);
  }
  assert.ok(
    stepLines(first.stdout).every((line) => line.startsWith('✓ ')),
    first.stdout,
  );
  assert.match(first.stdout, /^shop v1: deployment d-/);
  assert.match(first.stdout, /\nshop v1: succeeded in [\d.]+m?s \(d-[^)]+\)\n {2}live on blue\n/);
  assert.match(first.stdout, /\n {2}verify: \d+ probes, 0 failed/);
  assert.equal(await liveVersion(), 'v1');

  const second = await cutover(['deploy', 'v2', '--dir', join(SHOP_DIR, 'v2')]);
  assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
  assert.ok(stepLines(second.stdout).some((line) => line.startsWith('✓ draining ')));
  assert.match(second.stdout, /\n {2}live on green; blue is the standby\n/);
  assert.equal(await liveVersion(), 'v2');
});

void test('drill: back to the standby and forward again with zero failed requests', async () => {
  const run = await cutover(['drill', '--json']);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as DrillReport;
  assert.equal(report.app, 'shop');
  assert.equal(report.passed, true, report.reason ?? '');
  assert.equal(report.failedRequests, 0);
  assert.equal(report.standby, 'blue');
  assert.ok(report.forward !== null);
  assert.equal(await liveVersion(), 'v2');
});

void test('deploy v3 fails its smoke check before the flip: exit 1 naming the check, v2 stays live', async () => {
  const run = await cutover(['deploy', 'v3', '--dir', join(SHOP_DIR, 'v3')]);
  assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /\n✗ smoke [\d.]+m?s: GET \/api\/products: status 500/);
  assert.ok(!stepLines(run.stdout).some((line) => line.includes(' flipping ')), run.stdout);
  assert.match(run.stdout, /\nshop v3: failed in .*\n {2}traffic stays on green\n/);
  assert.match(
    run.stderr,
    /^cutover: shop v3 failed: step "smoke" failed: GET \/api\/products: .*\(CUTOVER_ERR_DEPLOY_FAILED\)\n$/,
  );
  assert.equal(await liveVersion(), 'v2');
});

void test('history --deployments lists each deployment with its steps, newest first', async () => {
  const human = await cutover(['history', 'shop', '--deployments']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^deployments \(newest first\):\n {2}d-\S+ {2}shop v3 {2}failed /);
  assert.match(human.stdout, /✗ smoke [\d.]+m?s/);
  assert.match(human.stdout, /shop v2 {2}succeeded /);
  assert.match(human.stdout, /\ndrills \(newest first\):\n {2}\S+ {2}shop {2}drill passed {2}RTO /);
  const json = await cutover(['history', 'shop', '--deployments', '--json']);
  const list = JSON.parse(json.stdout) as DeploymentListResponse;
  assert.deepEqual(
    list.deployments.map((d) => [d.release, d.outcome]),
    [
      ['v3', 'failed'],
      ['v2', 'succeeded'],
      ['v1', 'succeeded'],
    ],
  );
});

void test('a daemon killed and restarted mid-deployment: the CLI retries and follows it to the end', async () => {
  const following = cutover(['deploy', 'v1', '--dir', join(SHOP_DIR, 'v1')]);
  // Wait until the deployment is in its verify window, then kill -9 the daemon and restart it.
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'the deployment reached its verify window');
    const reply = await running().admin('GET', '/v1/deployments?app=shop&limit=1');
    const [latest] = reply.json<DeploymentListResponse>().deployments;
    if (latest?.release === 'v1' && latest.step === 'verifying') break;
    await delay(50);
  }
  const killed = running();
  await killed.kill9();
  daemon = await killed.restart({ env: shopDatabaseEnv(killed.dataDir) });
  const run = await following;
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.equal(run.stderr.match(/daemon unreachable, retrying/g)?.length, 1, run.stderr);
  assert.match(run.stdout, /\nshop v1: succeeded in /);
  // Each step is printed once, even though the restarted daemon resumed the deployment.
  const steps = stepLines(run.stdout).map((line) => line.split(' ')[1]);
  assert.equal(new Set(steps).size, steps.length, steps.join(', '));
  assert.equal(await liveVersion(), 'v1');
});

void test('runtime: external: deploy --dir with --instances routes to the running instances', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-cli-external-'));
  const upstreams = await Promise.all([
    startUpstream({ name: 'ext-a' }),
    startUpstream({ name: 'ext-b' }),
  ]);
  try {
    await writeFile(
      join(dir, 'cutover.yaml'),
      [
        'app: ext',
        'hosts: [ext.test]',
        'runtime: external',
        'health:',
        '  path: /',
        '  interval: 100ms',
        'smoke:',
        '  - path: /',
        '    status: 200',
        'switch:',
        '  probeWindow: 1s',
        '',
      ].join('\n'),
    );
    const run = await cutover([
      'deploy',
      'r1',
      '--dir',
      dir,
      '--instances',
      upstreams.map((upstream) => upstream.address).join(','),
    ]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /\next r1: succeeded in /);
    const reply = await running().get('public', '/', { host: 'ext.test' });
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^ext-[ab]$/);
  } finally {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
    await rm(dir, { recursive: true, force: true });
  }
});

void test('--no-wait, a second deployment refused naming the running one, then abort ends it', async () => {
  const started = await cutover(['deploy', 'v2', '--dir', join(SHOP_DIR, 'v2'), '--no-wait']);
  assert.equal(started.code, 0, started.stderr);
  const id = started.stdout.trim();
  assert.match(id, /^d-[a-z0-9-]+$/);

  const second = await cutover(['deploy', 'v1', '--dir', join(SHOP_DIR, 'v1')]);
  assert.equal(second.code, 1, `${second.stdout}\n${second.stderr}`);
  assert.match(second.stderr, /\(CUTOVER_ERR_APP_LOCKED\)\n$/);
  assert.ok(second.stderr.includes(id), `the refusal names ${id}: ${second.stderr}`);

  const aborted = await cutover(['abort', 'shop', '--reason', 'changed my mind']);
  assert.equal(aborted.code, 0, `${aborted.stdout}\n${aborted.stderr}`);
  assert.match(aborted.stdout, new RegExp(`^shop v2: deployment ${id}: abort taken at step `));
  assert.match(aborted.stdout, new RegExp(`\\nshop v2: aborted in .* \\(${id}\\)\\n`));
  assert.match(aborted.stdout, /reason: aborted by .*changed my mind/);
  assert.equal(await liveVersion(), 'v1');
});
