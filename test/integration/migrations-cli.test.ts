// `cutover migrations status|plan|contract` as users run them (`node bin/cutover.js`) against a
// real daemon that deploys the shop example's v1 and v2 folders on a SQLite database (the
// daemon's SHOP_DATABASE_URL): status shows what the live release applied, plan what v2 would
// apply (without applying it), and the contract phase is refused while v1 is the standby.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type {
  MigrationsContractResponse,
  MigrationsPlanResponse,
} from '../../src/client/api-types.ts';
import { CUTOVER_BIN } from '../helpers/daemon.ts';
import {
  startPipelineDaemon,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';

const REPO_DIR = resolve(import.meta.dirname, '../..');
const SHOP_DIR = join(REPO_DIR, 'examples/shop');
const CLI_TIMEOUT_MS = 60_000;
/** Start, smoke, warm-up, the example's 5 s probe window and the shadow check, with room. */
const DEPLOY_TIMEOUT_MS = 90_000;

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let fx: PipelineDaemon | undefined;
let databaseDir: string | undefined;

function fixture(): PipelineDaemon {
  assert.ok(fx, 'the daemon started in before()');
  return fx;
}

/** The CLI from the repository root (no cutover.yaml there), on this test's daemon. */
function cutover(args: readonly string[]): Promise<CliRun> {
  const env = { ...process.env };
  delete env.CUTOVER_DATA_DIR;
  delete env.CUTOVER_ADMIN_URL;
  delete env.CUTOVER_ADMIN_TOKEN;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args, '--data-dir', fixture().dataDir],
      { env, cwd: REPO_DIR, timeout: CLI_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}

async function exampleRelease(version: string): Promise<ShopRelease> {
  const dir = join(SHOP_DIR, version);
  return {
    app: 'shop',
    release: version,
    dir,
    config: await readFile(join(dir, 'cutover.yaml'), 'utf8'),
  };
}

async function deploy(version: string): Promise<void> {
  const view = await fixture().deployAndWait(
    await exampleRelease(version),
    undefined,
    DEPLOY_TIMEOUT_MS,
  );
  assert.equal(view.outcome, 'succeeded', `${version}: ${view.step} ${view.reason ?? ''}`);
}

function parsed<T>(run: CliRun): T {
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

before(async () => {
  databaseDir = await mkdtemp(join(tmpdir(), 'cutover-migrations-cli-db-'));
  fx = await startPipelineDaemon({
    env: { SHOP_DATABASE_URL: `sqlite:${join(databaseDir, 'shop.db')}` },
  });
});

after(async () => {
  await fx?.close();
  if (databaseDir !== undefined) await rm(databaseDir, { recursive: true, force: true });
});

void test('before any deployment, status is refused: the daemon has no app shop', async () => {
  const run = await cutover(['migrations', 'status', 'shop']);
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /No app named "shop".*\(CUTOVER_ERR_APP_NOT_FOUND\)\n$/);
});

void test('after v1: status shows 0001 applied by v1 as an expand migration', async () => {
  await deploy('v1');
  const status = parsed<MigrationsPlanResponse>(
    await cutover(['migrations', 'status', 'shop', '--json']),
  );
  assert.equal(status.app, 'shop');
  assert.equal(status.release, 'v1');
  assert.equal(status.dialect, 'sqlite');
  assert.equal(status.database, `sqlite:${join(databaseDir ?? '', 'shop.db')}`);
  assert.deepEqual(
    status.applied.map(({ name, phase, release }) => ({ name, phase, release })),
    [{ name: '0001_init.sql', phase: 'expand', release: 'v1' }],
  );
  assert.ok(!Number.isNaN(Date.parse(status.applied[0]?.appliedAt ?? '')));
  assert.deepEqual(status.pending, []);
  assert.deepEqual(status.contractPending, []);
  assert.deepEqual(status.changed, []);

  // Text, with the app taken from the daemon's only app.
  const text = await cutover(['migrations', 'status']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^shop v1 \(live\): sqlite:.*shop\.db \(sqlite\)\n/);
  assert.match(text.stdout, /\n {2}0001_init\.sql {2}expand {2}v1 {7}\d{4}-\d\d-\d\dT/);
});

void test('plan v2 --dir examples/shop/v2 shows 0002 pending and applies nothing', async () => {
  const plan = parsed<MigrationsPlanResponse>(
    await cutover(['migrations', 'plan', 'v2', '--dir', 'examples/shop/v2', '--json']),
  );
  assert.equal(plan.release, 'v2');
  assert.deepEqual(
    plan.applied.map((row) => row.name),
    ['0001_init.sql'],
  );
  assert.deepEqual(plan.pending, ['0002_add_order_note.sql']);
  assert.deepEqual(plan.contractPending, []);
  assert.deepEqual(plan.changed, []);

  const text = await cutover(['migrations', 'plan', '--dir', 'examples/shop/v2']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /a deployment would apply \(expand\):\n {2}0002_add_order_note\.sql\n/);
  assert.match(text.stdout, /a deployment of plan would apply 1 migration\n$/);

  const status = parsed<MigrationsPlanResponse>(
    await cutover(['migrations', 'status', 'shop', '--json']),
  );
  assert.deepEqual(
    status.applied.map((row) => row.name),
    ['0001_init.sql'],
  );
});

void test('contract with no standby runs (nothing pending); with v1 the standby it is refused', async () => {
  // Only v1 has been deployed: no standby, so the contract phase may run.
  const none = parsed<MigrationsContractResponse>(
    await cutover(['migrations', 'contract', 'shop', '--json']),
  );
  assert.deepEqual(none, { ...none, app: 'shop', release: 'v1', applied: [] });

  await deploy('v2');
  const status = parsed<MigrationsPlanResponse>(
    await cutover(['migrations', 'status', 'shop', '--json']),
  );
  assert.equal(status.release, 'v2');
  assert.deepEqual(
    status.applied.map(({ name, release }) => [name, release]),
    [
      ['0001_init.sql', 'v1'],
      ['0002_add_order_note.sql', 'v2'],
    ],
  );

  const refused = await cutover(['migrations', 'contract', 'shop']);
  assert.equal(refused.code, 1, refused.stdout);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /still has a standby \(v1 on blue\)/);
  assert.match(refused.stderr, /\(CUTOVER_ERR_MIGRATION_STANDBY_ALIVE\)\n$/);
  const json = await cutover(['migrations', 'contract', 'shop', '--json']);
  assert.equal(json.code, 1);
  const body = JSON.parse(json.stdout) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE');
  assert.match(body.error.message, /v1 on blue/);
});
