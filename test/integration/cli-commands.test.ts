// The CLI as users run it (`node bin/cutover.js ...`) against a real daemon child process and real
// upstream servers: exit codes 0/1/2, the --json shapes, the human lines and the error messages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { CUTOVER_BIN, startTestDaemon } from '../helpers/daemon.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { startUpstream } from '../helpers/upstream.ts';
import type { Upstream } from '../helpers/upstream.ts';
import type {
  AppStatus,
  DeployResponse,
  FlipResponse,
  HistoryResponse,
  StatusResponse,
} from '../../src/client/api-types.ts';

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI_TIMEOUT_MS = 60_000;

function cutover(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const cleanEnv = { ...process.env };
  delete cleanEnv.CUTOVER_DATA_DIR;
  delete cleanEnv.CUTOVER_ADMIN_URL;
  delete cleanEnv.CUTOVER_ADMIN_TOKEN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { env: { ...cleanEnv, ...env }, timeout: CLI_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function json<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    assert.fail(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** One GET through the daemon's public listener; resolves to the upstream's name. */
function getPublic(daemon: TestDaemon): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(daemon.publicUrl);
    const req = request({ host: url.hostname, port: url.port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let daemon: TestDaemon | undefined;
let upstreams: Upstream[] = [];

function running(): TestDaemon {
  assert.ok(daemon, 'the daemon started in before()');
  return daemon;
}

function dataDirArgs(): string[] {
  return ['--data-dir', running().dataDir];
}

function upstream(index: number): Upstream {
  const found = upstreams[index];
  assert.ok(found);
  return found;
}

before(async () => {
  upstreams = await Promise.all(['v1-a', 'v1-b', 'v2-a'].map((name) => startUpstream({ name })));
  daemon = await startTestDaemon();
});

after(async () => {
  await Promise.all([daemon?.stop(), ...upstreams.map((u) => u.close())]);
});

void test('bad flags exit 2 before reaching the daemon', async () => {
  const unknownFlag = await cutover(['status', '--frobnicate', ...dataDirArgs()]);
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /unknown option '--frobnicate'.*\(CUTOVER_ERR_USAGE\)/);
  const badDuration = await cutover([
    'deploy',
    'v1',
    '--app',
    'shop',
    '--instances',
    upstream(0).address,
    '--health-timeout',
    '10',
    ...dataDirArgs(),
  ]);
  assert.equal(badDuration.code, 2);
  assert.match(badDuration.stderr, /--health-timeout "10" needs a unit: write 10s/);
  const badColor = await cutover(['flip', 'shop', '--to', 'purple', '--json', ...dataDirArgs()]);
  assert.equal(badColor.code, 2);
  assert.equal(json<{ error: { code: string } }>(badColor).error.code, 'CUTOVER_ERR_USAGE');
  const missingApp = await cutover([
    'deploy',
    'v1',
    '--instances',
    upstream(0).address,
    ...dataDirArgs(),
  ]);
  assert.equal(missingApp.code, 2);
  assert.match(missingApp.stderr, /required option '--app <name>'/);
});

void test('deploy, status, flip, rollback and history against a real daemon', async () => {
  const fast = ['--health-path', '/', '--health-interval', '100ms', '--health-timeout', '10s'];

  const first = await cutover([
    'deploy',
    'v1',
    '--app',
    'shop',
    '--instances',
    `${upstream(0).address},${upstream(1).address}`,
    ...fast,
    ...dataDirArgs(),
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /^shop: deployed v1 to blue\n {2}health checks passed in .+\n {2}flipped nothing -> blue, live .+ after the command, generation \d+\n$/,
  );
  assert.match((await getPublic(running())).body, /^v1-[ab]$/);

  const second = await cutover([
    'deploy',
    'v2',
    '--app',
    'shop',
    '--instances',
    upstream(2).address,
    ...fast,
    '--json',
    ...dataDirArgs(),
  ]);
  assert.equal(second.code, 0, second.stderr);
  const deployed = json<DeployResponse>(second);
  assert.equal(deployed.color, 'green');
  assert.equal(deployed.release, 'v2');
  assert.equal(deployed.flip.from, 'blue');
  assert.equal(deployed.flip.to, 'green');
  assert.ok(deployed.healthMs >= 0 && deployed.flip.durationMs >= 0);
  assert.equal((await getPublic(running())).body, 'v2-a');

  const status = await cutover(['status', '--json', ...dataDirArgs()]);
  assert.equal(status.code, 0, status.stderr);
  const state = json<StatusResponse>(status);
  const shop = state.apps.find((app) => app.name === 'shop');
  assert.ok(shop);
  assert.equal(shop.live, 'green');
  assert.equal(shop.standby, 'blue');
  assert.equal(shop.colors.green.release, 'v2');
  assert.equal(shop.colors.blue.release, 'v1');
  assert.deepEqual(
    shop.colors.blue.instances.map((i) => i.address).sort(),
    [upstream(0).address, upstream(1).address].sort(),
  );

  const human = await cutover(['status', 'shop', ...dataDirArgs()]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^shop: green is live, catch-all \(no hosts\)/);
  assert.match(human.stdout, /green\s+live\s+v2\s+\d+\s+\d+\s+\d+\s+127\.0\.0\.1:\d+ up/);
  assert.match(human.stdout, /blue\s+standby\s+v1/);

  const rolled = await cutover(['rollback', 'shop', ...dataDirArgs()]);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /^shop: rolled back green -> blue \(v1\) in .+ms, generation \d+\n$/);
  assert.match((await getPublic(running())).body, /^v1-[ab]$/);

  const flipped = await cutover(['flip', 'shop', '--wait-drain', '--json', ...dataDirArgs()]);
  assert.equal(flipped.code, 0, flipped.stderr);
  const flip = json<FlipResponse>(flipped);
  assert.equal(flip.from, 'blue');
  assert.equal(flip.to, 'green');
  assert.equal(flip.release, 'v2');
  assert.ok(flip.drain, 'a flip with --wait-drain reports the drain');
  assert.equal(flip.drain.aborted, 0);
  assert.equal((await getPublic(running())).body, 'v2-a');

  const app = json<AppStatus>(await cutover(['status', 'shop', '--json', ...dataDirArgs()]));
  assert.deepEqual(
    app.flips.slice(-3).map((f) => [f.kind, f.to]),
    [
      ['deploy', 'green'],
      ['rollback', 'blue'],
      ['flip', 'green'],
    ],
  );

  const history = await cutover(['history', 'shop', '--limit', '50', '--json', ...dataDirArgs()]);
  assert.equal(history.code, 0, history.stderr);
  const events = json<HistoryResponse>(history).events;
  assert.ok(events.length > 0 && events.length <= 50);
  assert.ok(events.every((event) => event.app === 'shop'));
  const humanHistory = await cutover(['history', 'shop', '--limit', '5', ...dataDirArgs()]);
  assert.equal(humanHistory.code, 0, humanHistory.stderr);
  assert.match(humanHistory.stdout, /^id\s+at\s+app\s+event\s+details\n/);
});

void test('refusals from the daemon exit 1 with their code', async () => {
  const unknown = await cutover(['flip', 'no-such-app', ...dataDirArgs()]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\(CUTOVER_ERR_APP_NOT_FOUND\)\n$/);
  const unknownJson = await cutover(['status', 'no-such-app', '--json', ...dataDirArgs()]);
  assert.equal(unknownJson.code, 1);
  assert.equal(
    json<{ error: { code: string } }>(unknownJson).error.code,
    'CUTOVER_ERR_APP_NOT_FOUND',
  );

  // Nothing listens on a closed upstream's port: the health check fails, nothing is flipped.
  const gone = await startUpstream({ name: 'gone' });
  await gone.close();
  const before = json<StatusResponse>(await cutover(['status', '--json', ...dataDirArgs()]));
  const failed = await cutover([
    'deploy',
    'v3',
    '--app',
    'shop',
    '--instances',
    gone.address,
    '--health-interval',
    '100ms',
    '--health-timeout',
    '1s',
    ...dataDirArgs(),
  ]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /\(CUTOVER_ERR_HEALTH_FAILED\)\n$/);
  const afterFailure = json<StatusResponse>(await cutover(['status', '--json', ...dataDirArgs()]));
  assert.equal(
    afterFailure.apps.find((a) => a.name === 'shop')?.live,
    before.apps.find((a) => a.name === 'shop')?.live,
  );
  assert.equal((await getPublic(running())).body, 'v2-a');
});

void test('--admin-url and --admin-token reach a daemon on loopback TCP; a wrong token exits 1', async () => {
  const token = randomBytes(20).toString('hex');
  const tcp = await startTestDaemon({
    args: ['--admin-tcp', '127.0.0.1:0'],
    env: { CUTOVER_ADMIN_TOKEN: token },
  });
  try {
    const url = tcp.info.admin.tcp?.url;
    assert.ok(url, 'daemon.json names the TCP admin URL');
    const ok = await cutover(['status', '--json', '--admin-url', url, '--admin-token', token]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(json<StatusResponse>(ok).apps, []);
    const viaEnv = await cutover(['status'], {
      CUTOVER_ADMIN_URL: url,
      CUTOVER_ADMIN_TOKEN: token,
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /^no apps yet/);
    const wrong = await cutover(['status', '--admin-url', url, '--admin-token', 'x'.repeat(40)]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /\(CUTOVER_ERR_ADMIN_UNAUTHORIZED\)\n$/);
  } finally {
    await tcp.stop();
  }
});
