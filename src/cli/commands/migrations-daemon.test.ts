// `cutover migrations status|plan|contract` in-process against a stand-in admin API: what each
// sends, what it prints (text and --json), and its exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrationsPlanResponse } from '../../client/api-types.ts';
import {
  sampleMigrationsContract,
  sampleMigrationsPlan,
} from '../../../test/helpers/admin-fixture.ts';
import { withFakeAdmin } from '../../../test/helpers/fake-admin.ts';
import { runCli } from '../main.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const STATUS = sampleMigrationsPlan({
  release: 'v1',
  pending: [],
  contractPending: ['0003_drop_legacy_total.sql'],
});

void test('status names the app, prints applied rows with phase, release and time; --json the response', async () => {
  await withFakeAdmin(
    { 'GET /v1/apps/shop/migrations': () => ({ status: 200, body: STATUS }) },
    async (admin) => {
      const run = await cli(['migrations', 'status', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.equal(
        run.out,
        [
          'shop v1 (live): sqlite:/var/lib/shop/shop.db (sqlite)',
          'applied:',
          '  NAME           PHASE   RELEASE  APPLIED AT',
          '  0001_init.sql  expand  v1       2026-11-26T12:00:00.000Z',
          'pending (expand, applied by the next deployment of this release):',
          '  none',
          'contract pending (run with `cutover migrations contract` once the standby is retired):',
          '  0003_drop_legacy_total.sql',
          '',
        ].join('\n'),
      );
      const json = await cli([
        'migrations',
        'status',
        'shop',
        '--json',
        '--data-dir',
        admin.dataDir,
      ]);
      assert.equal(json.code, 0, json.err);
      assert.deepEqual(JSON.parse(json.out), STATUS);
      assert.deepEqual(admin.requests, [
        'GET /v1/apps/shop/migrations',
        'GET /v1/apps/shop/migrations',
      ]);
    },
  );
});

void test('status without an app takes the daemon only app; an unknown app exits 1', async () => {
  await withFakeAdmin(
    {
      'GET /v1/status': () => ({
        status: 200,
        body: { revision: 1, generation: 1, apps: [{ name: 'shop' }] },
      }),
      'GET /v1/apps/shop/migrations': () => ({ status: 200, body: STATUS }),
      'GET /v1/apps/blog/migrations': () => ({
        status: 404,
        body: { error: { code: 'CUTOVER_ERR_APP_NOT_FOUND', message: 'No app "blog".' } },
      }),
    },
    async (admin) => {
      const run = await cli(['migrations', 'status', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(admin.requests, ['GET /v1/status', 'GET /v1/apps/shop/migrations']);
      const missing = await cli(['migrations', 'status', 'blog', '--data-dir', admin.dataDir]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /No app "blog"\. \(CUTOVER_ERR_APP_NOT_FOUND\)/);
    },
  );
});

void test('status shows changed files and what they mean', async () => {
  const changed = { ...STATUS, changed: ['0001_init.sql'] };
  await withFakeAdmin(
    { 'GET /v1/apps/shop/migrations': () => ({ status: 200, body: changed }) },
    async (admin) => {
      const run = await cli(['migrations', 'status', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.match(
        run.out,
        /changed since applied \(a deployment would be refused\):\n {2}0001_init\.sql\n/,
      );
    },
  );
});

async function withRelease(config: string, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-migrations-plan-'));
  try {
    await writeFile(join(dir, 'cutover.yaml'), config);
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CONFIG = 'app: shop\nstart: node server.js\n';

void test('plan sends the release, its absolute dir and cutover.yaml text; prints what it would apply', async () => {
  await withRelease(CONFIG, async (dir) => {
    await withFakeAdmin(
      {
        'POST /v1/apps/shop/migrations/plan': (body) => ({
          status: 200,
          body: sampleMigrationsPlan({
            release: (body as { release: string }).release,
            contractPending: ['0003_drop_legacy_total.sql'],
          }),
        }),
      },
      async (admin) => {
        const run = await cli([
          'migrations',
          'plan',
          'v2',
          '--dir',
          dir,
          '--data-dir',
          admin.dataDir,
        ]);
        assert.equal(run.code, 0, run.err);
        assert.deepEqual(admin.bodies, [
          { release: 'v2', dir, config: CONFIG, configPath: join(dir, 'cutover.yaml') },
        ]);
        assert.equal(
          run.out,
          [
            'shop v2: sqlite:/var/lib/shop/shop.db (sqlite)',
            'applied: 0001_init.sql',
            'a deployment would apply (expand):',
            '  0002_add_order_note.sql',
            'held for the contract phase (after the standby is retired):',
            '  0003_drop_legacy_total.sql',
            'a deployment of v2 would apply 1 migration; 1 migration wait for the contract phase',
            '',
          ].join('\n'),
        );
        const json = await cli([
          'migrations',
          'plan',
          '--dir',
          dir,
          '--json',
          '--data-dir',
          admin.dataDir,
        ]);
        assert.equal(json.code, 0, json.err);
        // The release id defaults to `plan`.
        assert.equal((admin.bodies[1] as { release: string }).release, 'plan');
        assert.equal((JSON.parse(json.out) as MigrationsPlanResponse).release, 'plan');
      },
    );
  });
});

void test('plan exits 1 when a deployment would be refused (an applied file was edited)', async () => {
  await withRelease(CONFIG, async (dir) => {
    await withFakeAdmin(
      {
        'POST /v1/apps/shop/migrations/plan': () => ({
          status: 200,
          body: sampleMigrationsPlan({ changed: ['0001_init.sql'] }),
        }),
      },
      async (admin) => {
        const run = await cli([
          'migrations',
          'plan',
          'v2',
          '--dir',
          dir,
          '--data-dir',
          admin.dataDir,
        ]);
        assert.equal(run.code, 1);
        assert.match(
          run.out,
          /changed since applied \(the deployment is refused\):\n {2}0001_init\.sql/,
        );
        assert.match(
          run.out,
          /a deployment of v2 would be refused: applied migrations were edited\n$/,
        );
        const json = await cli([
          'migrations',
          'plan',
          'v2',
          '--dir',
          dir,
          '--json',
          '--data-dir',
          admin.dataDir,
        ]);
        assert.equal(json.code, 1);
        assert.deepEqual((JSON.parse(json.out) as MigrationsPlanResponse).changed, [
          '0001_init.sql',
        ]);
      },
    );
  });
});

void test('plan without a cutover.yaml, or with a bad one, fails before the daemon', async () => {
  await withFakeAdmin({}, async (admin) => {
    const empty = await mkdtemp(join(tmpdir(), 'cutover-migrations-plan-'));
    try {
      const run = await cli(['migrations', 'plan', '--dir', empty, '--data-dir', admin.dataDir]);
      // A config error is a usage error: exit 2.
      assert.equal(run.code, 2);
      assert.match(run.err, /cutover\.yaml not found: pass the release's folder with --dir/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    await withRelease('app: Shop!\n', async (dir) => {
      const run = await cli(['migrations', 'plan', '--dir', dir, '--data-dir', admin.dataDir]);
      assert.equal(run.code, 2);
      assert.match(run.err, /cutover\.yaml:1: app: expected an app name/);
      assert.match(run.err, /\(CUTOVER_ERR_CONFIG_INVALID\)\n$/);
    });
    assert.deepEqual(admin.requests, []);
  });
});

void test('contract prints what it applied, or that nothing was pending', async () => {
  let applied = ['0003_drop_legacy_total.sql', '0004_drop_old_index.sql'];
  await withFakeAdmin(
    {
      'POST /v1/apps/shop/migrations/contract': () => ({
        status: 200,
        body: sampleMigrationsContract({ applied, durationMs: 40 }),
      }),
    },
    async (admin) => {
      const run = await cli(['migrations', 'contract', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.equal(
        run.out,
        'shop v2: applied 2 migrations in 40 ms\n  0003_drop_legacy_total.sql\n  0004_drop_old_index.sql\n',
      );
      assert.deepEqual(admin.bodies, [{}]);
      applied = [];
      const none = await cli(['migrations', 'contract', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(none.out, 'shop v2: no contract migration pending\n');
      const json = await cli([
        'migrations',
        'contract',
        'shop',
        '--json',
        '--data-dir',
        admin.dataDir,
      ]);
      assert.deepEqual(
        JSON.parse(json.out),
        sampleMigrationsContract({ applied: [], durationMs: 40 }),
      );
    },
  );
});

void test('contract with a standby exits 1 with the refusal naming it', async () => {
  const message =
    'App "shop" still has a standby (v1 on blue) that may use the old schema: contract migrations run once it is retired.';
  await withFakeAdmin(
    {
      'POST /v1/apps/shop/migrations/contract': () => ({
        status: 409,
        body: { error: { code: 'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE', message } },
      }),
    },
    async (admin) => {
      const run = await cli(['migrations', 'contract', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 1);
      assert.equal(run.out, '');
      assert.equal(run.err, `cutover: ${message} (CUTOVER_ERR_MIGRATION_STANDBY_ALIVE)\n`);
    },
  );
});
