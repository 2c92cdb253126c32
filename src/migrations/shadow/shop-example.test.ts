// The shop example's database story (examples/shop/README.md), with the real SQLite migration
// target, the real linter and each release's real compat command: v2 over v1 passes the shadow
// check, v5 is blocked by the linter, v6 passes the linter but its shadow check fails on v2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ApplyOptions, MigrationTarget } from '../../ports/database.ts';
import { openSqliteMigrationTarget } from '../../adapters/database/sqlite/sqlite-migration-target.ts';
import { loadAppConfigFromDir } from '../../config/load-app-config.ts';
import { toProcessStartSpec } from '../../config/process-start-spec.ts';
import { resolveAppEnv } from '../../config/resolve-app-env.ts';
import { lintFiles } from '../lint/lint-sql.ts';
import { planMigrations, readMigrationDir } from '../migration-dir.ts';
import { createCommandCheck } from './command-check.ts';
import { combineChecks, runCompatCheck } from './compat-check.ts';
import { createShadowSmokeCheck } from './shadow-smoke-check.ts';
import { createWritesCheck, readWritesFile } from './writes-check.ts';
import type { CompatCheckRunner } from './compat-check.ts';

const SHOP_DIR = resolve(import.meta.dirname, '../../../examples/shop');
const APPLY: Omit<ApplyOptions, 'release'> = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  retries: 0,
};

let root: string;
let dbPath: string;
let target: MigrationTarget;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cutover-shop-shadow-'));
  dbPath = join(root, 'shop.db');
  target = await openSqliteMigrationTarget(`sqlite:${dbPath}`);
});

after(async () => {
  await target.close();
  await rm(root, { recursive: true, force: true });
});

/** The release's compat command from its cutover.yaml, run in its folder. */
async function compatCheckOf(release: string): Promise<CompatCheckRunner> {
  const dir = join(SHOP_DIR, release);
  const config = await loadAppConfigFromDir(dir);
  const command = config.migrations.compat.command;
  assert.ok(command !== null, `${release} has a compat command`);
  assert.ok(config.database !== null, `${release} declares its database`);
  return createCommandCheck({ command, cwd: dir, urlEnv: config.database.env });
}

/** The release's smoke checks on one instance started on the shadow, then its writes. */
async function shadowChecksOf(release: string): Promise<CompatCheckRunner> {
  const dir = join(SHOP_DIR, release);
  const config = await loadAppConfigFromDir(dir);
  assert.ok(config.database !== null);
  assert.equal(
    config.migrations.compat.smoke,
    true,
    `${release} runs its smoke checks on the shadow`,
  );
  const writes = config.migrations.compat.writes;
  assert.equal(writes, 'writes.sql', `${release} declares its writes`);
  const env = await resolveAppEnv(config.env, { releaseDir: dir });
  return combineChecks(
    createShadowSmokeCheck({
      release,
      app: config.app,
      spec: toProcessStartSpec(config, dir, env),
      urlEnv: config.database.env,
      health: config.health,
      smoke: config.smoke,
      host: config.hosts[0] ?? 'localhost',
      releaseDir: dir,
    }),
    createWritesCheck({
      file: await readWritesFile(join(dir, writes), writes, 'sqlite'),
      dialect: 'sqlite',
    }),
  );
}

/** The files of `release` its deployment would apply to the live database now. */
async function pendingOf(release: string) {
  const files = await readMigrationDir(join(SHOP_DIR, release, 'migrations'));
  return planMigrations(files, await target.applied()).pending;
}

function columnsOfOrders(): string[] {
  const db = new DatabaseSync(dbPath);
  try {
    return db
      .prepare('SELECT name FROM pragma_table_info(?)')
      .all('orders')
      .map((row) => String(row.name));
  } finally {
    db.close();
  }
}

void test('the releases with a database declare it, a compat command and a smoke check that writes', async () => {
  for (const release of ['v1', 'v2', 'v5', 'v6']) {
    const config = await loadAppConfigFromDir(join(SHOP_DIR, release));
    assert.deepEqual(config.env.SHOP_VERSION, { kind: 'value', value: release });
    assert.deepEqual(config.database, {
      url: { kind: 'fromEnv', name: 'SHOP_DATABASE_URL' },
      env: 'DATABASE_URL',
    });
    // The compat command runs the code the release's instances run: the same version and columns.
    const columns = config.env.SHOP_ORDER_COLUMNS;
    assert.ok(columns?.kind === 'value', `${release} names the columns its code knows`);
    assert.ok(
      (config.migrations.compat.command ?? '').startsWith(
        `SHOP_VERSION=${release} SHOP_ORDER_COLUMNS=${columns.value} `,
      ),
      `${release}'s compat command sets its version and columns`,
    );
    assert.ok(
      config.smoke.some(
        (check) =>
          check.kind === 'http' &&
          check.method === 'POST' &&
          check.path === '/api/orders' &&
          check.status === 201,
      ),
      `${release} places an order in its smoke checks`,
    );
  }
});

void test('v1 deploys onto an empty database: its own check passes on the shadow', async () => {
  const pending = await pendingOf('v1');
  assert.deepEqual(
    pending.map((file) => file.name),
    ['0001_init.sql'],
  );
  const report = await runCompatCheck({
    target,
    files: pending,
    release: 'v1',
    checks: { next: await compatCheckOf('v1') },
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.live, null);
  await target.apply(pending, { ...APPLY, release: 'v1' });
  assert.deepEqual(columnsOfOrders(), ['id', 'customer', 'items', 'total_cents', 'created_at']);
});

void test('v2 adds a nullable column: the linter and both releases on the shadow pass', async () => {
  const pending = await pendingOf('v2');
  assert.deepEqual(
    pending.map((file) => file.name),
    ['0002_add_order_note.sql'],
  );
  const lint = await lintFiles(
    pending.map((file) => file.path),
    { dialect: 'sqlite' },
  );
  assert.deepEqual(lint.findings, []);
  const report = await runCompatCheck({
    target,
    files: pending,
    release: 'v2',
    liveRelease: 'v1',
    checks: { live: await compatCheckOf('v1'), next: await compatCheckOf('v2') },
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.passed, true);
  assert.equal(report.live?.outcome.passed, true);
  assert.equal(report.next?.outcome.passed, true);
  await target.apply(pending, { ...APPLY, release: 'v2' });
  assert.deepEqual(columnsOfOrders(), [
    'id',
    'customer',
    'items',
    'total_cents',
    'created_at',
    'note',
  ]);
});

void test('v5 renames a column: the linter blocks it with rename-column (and v2 fails on the shadow)', async () => {
  const pending = await pendingOf('v5');
  assert.deepEqual(
    pending.map((file) => file.name),
    ['0003_rename_customer.sql'],
  );
  const lint = await lintFiles(
    pending.map((file) => file.path),
    { dialect: 'sqlite' },
  );
  assert.deepEqual(
    lint.findings.map((finding) => [finding.rule, finding.severity, finding.line]),
    [['rename-column', 'error', 5]],
  );
  // Were the linter overruled, the shadow would catch it too: v2 still inserts into customer.
  const report = await runCompatCheck({
    target,
    files: pending,
    release: 'v5',
    liveRelease: 'v2',
    checks: { live: await compatCheckOf('v2'), next: await compatCheckOf('v5') },
  });
  assert.equal(report.passed, false);
  assert.equal(report.failures.length, 1, JSON.stringify(report.failures));
  assert.match(report.failures[0] ?? '', /^live release v2 failed the compat command .*customer/s);
  assert.equal(report.next?.outcome.passed, true, 'v5 itself works on the renamed column');
});

void test('v6 passes the linter, but on the migrated shadow v2 cannot place an order', async () => {
  const pending = await pendingOf('v6');
  assert.deepEqual(
    pending.map((file) => file.name),
    ['0003_require_order_channel.sql'],
  );
  const lint = await lintFiles(
    pending.map((file) => file.path),
    { dialect: 'sqlite' },
  );
  assert.deepEqual(lint.findings, [], 'the linter sees nothing wrong');
  const report = await runCompatCheck({
    target,
    files: pending,
    release: 'v6',
    liveRelease: 'v2',
    checks: { live: await compatCheckOf('v2'), next: await compatCheckOf('v6') },
  });
  assert.equal(report.passed, false);
  assert.equal(report.failures.length, 1, JSON.stringify(report.failures));
  assert.match(
    report.failures[0] ?? '',
    /^live release v2 failed the compat command `SHOP_VERSION=v2 /,
  );
  assert.match(
    report.failures[0] ?? '',
    /FAILED v2 POST \/api\/orders: status 500, expected 201: .*orders\.channel is required/,
  );
  assert.equal(report.next?.outcome.passed, true, 'v6 itself works on the migrated shadow');
  // Production was never touched: no channel column, no trigger, nothing new applied.
  assert.deepEqual(columnsOfOrders(), [
    'id',
    'customer',
    'items',
    'total_cents',
    'created_at',
    'note',
  ]);
  assert.deepEqual(
    (await target.applied()).map((row) => row.name),
    ['0001_init.sql', '0002_add_order_note.sql'],
  );
});

void test('v6 without any compat command: the smoke checks and writes of v2 fail on the shadow, those of v6 pass', async () => {
  const pending = await pendingOf('v6');
  const report = await runCompatCheck({
    target,
    files: pending,
    release: 'v6',
    liveRelease: 'v2',
    checks: { live: await shadowChecksOf('v2'), next: await shadowChecksOf('v6') },
  });
  assert.equal(report.passed, false);
  assert.deepEqual(report.failures, [
    'live release v2 failed smoke check POST /api/orders on the migrated shadow: status 500, expected 201',
    'live release v2 failed its write at writes.sql:5 on the migrated shadow: INSERT INTO orders (customer, items, total_cents, created_at, note): orders.channel is required',
  ]);
  assert.deepEqual(
    report.next?.outcome.checks.map((check) => [check.name, check.passed]),
    [
      ['an instance of v6 started on the shadow', true],
      ['smoke check GET /', true],
      ['smoke check GET /api/products', true],
      ['smoke check POST /api/orders', true],
      ['its writes in writes.sql', true],
    ],
  );
  assert.deepEqual(
    (await target.applied()).map((row) => row.name),
    ['0001_init.sql', '0002_add_order_note.sql'],
  );
});
