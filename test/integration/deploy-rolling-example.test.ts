// The shop example's rolling release (examples/shop/v9-rolling) as users deploy it: `cutover
// deploy` from its folder after v1, on the shop's SQLite database. The summary shows the batches
// and says plainly that there is no standby and no instant rollback; `cutover rollback` refuses
// with the "no standby" reason; `cutover status` shows the old color empty.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readInstanceRecords } from '../../src/adapters/runtime/process/instance-record.ts';
import type { AppStatus } from '../../src/client/api-types.ts';
import { CUTOVER_BIN, startTestDaemon } from '../helpers/daemon.ts';
import type { TestDaemon } from '../helpers/daemon.ts';

const SHOP_DIR = resolve(import.meta.dirname, '../../examples/shop');
const CLI_TIMEOUT_MS = 90_000;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let daemon: TestDaemon | undefined;

function running(): TestDaemon {
  assert.ok(daemon, 'the daemon started in before()');
  return daemon;
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

before(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-rolling-example-'));
  daemon = await startTestDaemon({
    dataDir,
    removeDataDirOnStop: false,
    env: { SHOP_DATABASE_URL: `sqlite:${join(dataDir, 'shop.db')}` },
  });
});

after(async () => {
  if (daemon === undefined) return;
  await daemon.stop();
  // The instances are detached from the daemon by design: end them here.
  const { records } = await readInstanceRecords(join(daemon.dataDir, 'instances', 'shop'));
  for (const record of records) {
    try {
      if (record.pgid > 1) process.kill(-record.pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await rm(daemon.dataDir, { recursive: true, force: true });
});

void test('deploy v9 from examples/shop/v9-rolling after v1: batches, no standby, rollback refused', async () => {
  const first = await cutover(['deploy', 'v1', '--dir', join(SHOP_DIR, 'v1')]);
  assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);

  const rolled = await cutover(['deploy', 'v9', '--dir', join(SHOP_DIR, 'v9-rolling')]);
  assert.equal(rolled.code, 0, `${rolled.stdout}\n${rolled.stderr}`);
  assert.match(rolled.stdout, /\n✓ shifting /);
  assert.match(rolled.stdout, /\n {2}live on green; no standby \(rolling\)\n/);
  assert.match(
    rolled.stdout,
    /\n {2}rolling: 2 batches of 1 \(50%, 100%\), 2 instances replaced by 2\n/,
  );
  assert.match(rolled.stdout, /\n {2}no instant rollback: /);
  const version = await running().get('public', '/');
  assert.equal(version.json<{ version: string }>().version, 'v9');

  const status = await running().admin('GET', '/v1/apps/shop');
  const app = status.json<AppStatus>();
  assert.equal(app.live, 'green');
  assert.equal(app.standby, null);
  assert.equal(app.colors.blue.release, null);
  assert.equal(app.colors.green.instances.length, 2);

  const rollback = await cutover(['rollback', 'shop']);
  assert.equal(rollback.code, 1, `${rollback.stdout}\n${rollback.stderr}`);
  assert.match(rollback.stderr, /no standby/);
  assert.equal(
    (await running().get('public', '/')).json<{ version: string }>().version,
    'v9',
    'a refused rollback changes nothing',
  );
});
