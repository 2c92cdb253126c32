import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MigrationFile } from '../../core/migration-file.ts';
import type { AppliedMigration, MigrationTarget, Shadow } from '../../ports/database.ts';
import { combineChecks, runCompatCheck } from './compat-check.ts';
import type { CheckOutcome, ShadowTableInspector } from './compat-check.ts';

const CREATE_MS = 100;
const APPLY_MS_PER_FILE = 50;
const DROP_MS = 5;
const CHECK_MS = 1_000;

/** A fake database on a virtual clock: each operation advances time by a known amount. */
function createFakeTarget(options: { failOn?: string } = {}) {
  const clock = { ms: 0 };
  const events: string[] = [];
  const shadows: { url: string; applied: string[]; dropped: number }[] = [];
  const live: MigrationTarget = {
    dialect: 'sqlite',
    url: 'sqlite:/data/shop.db',
    applied: () => Promise.resolve([]),
    apply: () => Promise.reject(new Error('the live database must not be migrated')),
    createShadow: () => {
      clock.ms += CREATE_MS;
      const record = {
        url: `sqlite:/tmp/shadow-${shadows.length}.db`,
        applied: [] as string[],
        dropped: 0,
      };
      shadows.push(record);
      events.push('create');
      const target: MigrationTarget = {
        dialect: 'sqlite',
        url: record.url,
        applied: () => Promise.resolve([]),
        apply: (files, applyOptions) => {
          const rows: AppliedMigration[] = [];
          for (const file of files) {
            clock.ms += APPLY_MS_PER_FILE;
            if (file.name === options.failOn) {
              return Promise.reject(new Error(`${file.name}: no such column: customer`));
            }
            record.applied.push(file.name);
            events.push(`apply ${file.name}`);
            rows.push({
              name: file.name,
              checksum: file.checksum,
              phase: file.phase,
              appliedAt: '2026-11-26T13:00:00.000Z',
              release: applyOptions.release,
            });
          }
          return Promise.resolve(rows);
        },
        createShadow: () => Promise.reject(new Error('no shadow of a shadow')),
        close: () => Promise.resolve(),
      };
      const shadow: Shadow = {
        target,
        drop: () => {
          clock.ms += DROP_MS;
          record.dropped += 1;
          events.push('drop');
          return Promise.resolve();
        },
      };
      return Promise.resolve(shadow);
    },
    close: () => Promise.resolve(),
  };
  return { live, clock, events, shadows };
}

function file(
  name: string,
  sql = 'SELECT 1;',
  phase: 'expand' | 'contract' = 'expand',
): MigrationFile {
  return {
    name,
    path: `migrations/${name}`,
    phase,
    transactional: true,
    sql,
    checksum: `sum-${name}`,
  };
}

function runner(
  fake: ReturnType<typeof createFakeTarget>,
  name: string,
  result: CheckOutcome | Error,
  urls: string[],
) {
  return (url: string): Promise<CheckOutcome> => {
    fake.clock.ms += CHECK_MS;
    fake.events.push(`check ${name}`);
    urls.push(url);
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  };
}

const PASSED: CheckOutcome = {
  passed: true,
  checks: [{ name: 'POST /api/orders', passed: true, detail: 'status 201', durationMs: 3 }],
};

void test('applies the files on a shadow, runs the live then the new checks on it, and drops it', async () => {
  const fake = createFakeTarget();
  const urls: string[] = [];
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0002_add_order_note.sql'), file('0003_add_channel.sql')],
    release: 'v2',
    liveRelease: 'v1',
    checks: { live: runner(fake, 'live', PASSED, urls), next: runner(fake, 'next', PASSED, urls) },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, true);
  assert.deepEqual(report.failures, []);
  assert.deepEqual(fake.events, [
    'create',
    'apply 0002_add_order_note.sql',
    'apply 0003_add_channel.sql',
    'check live',
    'check next',
    'drop',
  ]);
  assert.deepEqual(urls, ['sqlite:/tmp/shadow-0.db', 'sqlite:/tmp/shadow-0.db']);
  assert.deepEqual(report.applied, ['0002_add_order_note.sql', '0003_add_channel.sql']);
  assert.equal(report.applyError, null);
  assert.deepEqual(report.live, { release: 'v1', outcome: PASSED });
  assert.deepEqual(report.next, { release: 'v2', outcome: PASSED });
  assert.deepEqual(report.shadow, {
    createMs: CREATE_MS,
    applyMs: 2 * APPLY_MS_PER_FILE,
    dropMs: DROP_MS,
    seedMs: 0,
  });
  assert.equal(report.seeded, null);
  assert.equal(report.seedError, null);
  // Cutover's own time leaves out the two checks' CHECK_MS each.
  assert.equal(report.cutoverMs, CREATE_MS + 2 * APPLY_MS_PER_FILE + DROP_MS);
  assert.equal(report.lockReport, undefined);
  assert.equal(fake.shadows[0]?.dropped, 1);
});

void test('a live release that fails on the migrated shadow fails the check, naming the release and the check', async () => {
  const fake = createFakeTarget();
  const failed: CheckOutcome = {
    passed: false,
    checks: [
      { name: 'GET /api/products', passed: true, detail: 'status 200', durationMs: 2 },
      {
        name: 'POST /api/orders',
        passed: false,
        detail: 'status 500, expected 201: orders.channel is required',
        durationMs: 4,
      },
    ],
  };
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0003_require_order_channel.sql')],
    release: 'v6',
    liveRelease: 'v2',
    checks: { live: runner(fake, 'live', failed, []), next: runner(fake, 'next', PASSED, []) },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, false);
  assert.deepEqual(report.failures, [
    'live release v2 failed POST /api/orders on the migrated shadow: status 500, expected 201: orders.channel is required',
  ]);
  assert.equal(report.next?.outcome.passed, true, 'the new release still ran its checks');
  assert.deepEqual(fake.events.at(-1), 'drop');
});

void test('a check that throws counts as failed, and the shadow is still dropped', async () => {
  const fake = createFakeTarget();
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0002_add_order_note.sql')],
    release: 'v2',
    liveRelease: 'v1',
    checks: {
      live: runner(fake, 'live', PASSED, []),
      next: runner(
        fake,
        'next',
        new Error('instance exited with code 1 before it was healthy'),
        [],
      ),
    },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, false);
  assert.deepEqual(report.failures, [
    'new release v2 failed its compat checks on the migrated shadow: instance exited with code 1 before it was healthy',
  ]);
  assert.equal(report.next?.outcome.checks[0]?.durationMs, CHECK_MS);
  assert.equal(fake.shadows[0]?.dropped, 1);
});

void test('an outcome that failed without a failing check is still reported', async () => {
  const fake = createFakeTarget();
  const report = await runCompatCheck({
    target: fake.live,
    files: [],
    release: 'v2',
    checks: { next: runner(fake, 'next', { passed: false, checks: [] }, []) },
  });
  assert.equal(report.passed, false);
  assert.deepEqual(report.failures, ['new release v2 failed its checks on the migrated shadow']);
});

void test('a migration that fails on the shadow stops before any check and drops the shadow', async () => {
  const fake = createFakeTarget({ failOn: '0003_rename_customer.sql' });
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0002_add_order_note.sql'), file('0003_rename_customer.sql')],
    release: 'v5',
    liveRelease: 'v2',
    checks: { live: runner(fake, 'live', PASSED, []), next: runner(fake, 'next', PASSED, []) },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, false);
  assert.equal(report.applyError, '0003_rename_customer.sql: no such column: customer');
  assert.deepEqual(report.failures, [
    'the migrations of v5 failed on the shadow: 0003_rename_customer.sql: no such column: customer',
  ]);
  assert.equal(report.live, null);
  assert.equal(report.next, null);
  assert.deepEqual(fake.events, ['create', 'apply 0002_add_order_note.sql', 'drop']);
  assert.equal(report.shadow.applyMs, 2 * APPLY_MS_PER_FILE);
});

void test('a first deployment has no live release: only the new checks run', async () => {
  const fake = createFakeTarget();
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0001_init.sql')],
    release: 'v1',
    checks: { next: runner(fake, 'next', PASSED, []) },
  });
  assert.equal(report.passed, true);
  assert.equal(report.live, null);
  assert.deepEqual(fake.events, ['create', 'apply 0001_init.sql', 'check next', 'drop']);
});

void test('a contract migration is refused before any shadow is made', async () => {
  const fake = createFakeTarget();
  await assert.rejects(
    runCompatCheck({
      target: fake.live,
      files: [
        file('0002_add_order_note.sql'),
        file('0004_drop_customer.sql', 'SELECT 1;', 'contract'),
      ],
      release: 'v7',
      checks: { next: runner(fake, 'next', PASSED, []) },
    }),
    /0004_drop_customer\.sql is a contract migration/,
  );
  assert.deepEqual(fake.events, []);
});

void test('with an inspector, each file is applied alone and its locks and rewrites are reported', async () => {
  const fake = createFakeTarget();
  const storage = new Map([
    ['public.orders', '16400'],
    ['public.products', '16410'],
  ]);
  const snapshots: string[] = [];
  const inspector: ShadowTableInspector = {
    snapshot: (url) => {
      snapshots.push(url);
      const copy = new Map(storage);
      // The first file rewrites orders (a volatile default); the second only adds a column.
      if (fake.shadows[0]?.applied.length === 1) copy.set('public.orders', '16500');
      if (fake.shadows[0]?.applied.length === 2) {
        copy.set('public.orders', '16500');
        copy.set('public.refunds', '16600');
      }
      return Promise.resolve(copy);
    },
  };
  const report = await runCompatCheck({
    target: fake.live,
    files: [
      file(
        '0002_created_at.sql',
        'ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now();',
      ),
      file(
        '0003_refunds.sql',
        'CREATE TABLE refunds (id bigint PRIMARY KEY);\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);',
      ),
    ],
    release: 'v3',
    checks: { next: runner(fake, 'next', PASSED, []) },
    inspector,
  });
  assert.equal(report.passed, true);
  assert.deepEqual(report.applied, ['0002_created_at.sql', '0003_refunds.sql']);
  assert.deepEqual(snapshots, [
    'sqlite:/tmp/shadow-0.db',
    'sqlite:/tmp/shadow-0.db',
    'sqlite:/tmp/shadow-0.db',
  ]);
  assert.deepEqual(report.lockReport, [
    {
      file: '0002_created_at.sql',
      statements: [
        {
          index: 0,
          kind: 'AlterTableStmt',
          table: 'orders',
          lock: 'ACCESS EXCLUSIVE',
          rewrote: true,
        },
      ],
      rewrittenTables: ['public.orders'],
    },
    {
      file: '0003_refunds.sql',
      statements: [
        { index: 0, kind: 'CreateStmt', table: null, lock: 'none', rewrote: false },
        {
          index: 1,
          kind: 'IndexStmt',
          table: 'orders',
          lock: 'SHARE UPDATE EXCLUSIVE',
          rewrote: false,
        },
      ],
      rewrittenTables: [],
    },
  ]);
});

void test('a rewrite two ACCESS EXCLUSIVE statements of one file may have made is pinned on neither', async () => {
  const fake = createFakeTarget();
  let calls = 0;
  const inspector: ShadowTableInspector = {
    snapshot: () => {
      calls += 1;
      return Promise.resolve(new Map([['public.orders', calls === 1 ? '16400' : '16500']]));
    },
  };
  const report = await runCompatCheck({
    target: fake.live,
    files: [
      file(
        '0002_orders.sql',
        'ALTER TABLE orders ADD COLUMN a int;\n' +
          'ALTER TABLE orders ALTER COLUMN total TYPE numeric;\n' +
          'UPDATE orders SET a = 1;\n' +
          'ALTER TABLE products ADD COLUMN b int;',
      ),
    ],
    release: 'v3',
    checks: { next: runner(fake, 'next', PASSED, []) },
    inspector,
  });
  assert.deepEqual(
    report.lockReport?.[0]?.statements.map((statement) => [statement.table, statement.rewrote]),
    [
      ['orders', null],
      ['orders', null],
      ['orders', false],
      ['products', false],
    ],
  );
  assert.deepEqual(report.lockReport?.[0]?.rewrittenTables, ['public.orders']);
});

void test('combined checks run in turn, keep every result, and fail when any fails or throws', async () => {
  const seen: string[] = [];
  const ok = (name: string) => (url: string) => {
    seen.push(`${name} ${url}`);
    return Promise.resolve<CheckOutcome>({
      passed: true,
      checks: [{ name, passed: true, detail: 'fine', durationMs: 1 }],
    });
  };
  const passing = combineChecks(ok('the compat command'), ok('GET /'));
  assert.deepEqual(await passing('sqlite:/s.db'), {
    passed: true,
    checks: [
      { name: 'the compat command', passed: true, detail: 'fine', durationMs: 1 },
      { name: 'GET /', passed: true, detail: 'fine', durationMs: 1 },
    ],
  });
  assert.deepEqual(seen, ['the compat command sqlite:/s.db', 'GET / sqlite:/s.db']);
  const failing = combineChecks(
    () => Promise.reject(new Error('instances did not start')),
    ok('GET /'),
  );
  const outcome = await failing('sqlite:/s.db');
  assert.equal(outcome.passed, false);
  assert.deepEqual(
    outcome.checks.map((check) => [check.name, check.passed, check.detail]),
    [
      ['its compat checks', false, 'instances did not start'],
      ['GET /', true, 'fine'],
    ],
  );
});

const SEED_MS = 30;

void test("a seeder fills the shadow before the files are applied; its time is cutover's own", async () => {
  const fake = createFakeTarget();
  const urls: string[] = [];
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0002_add_order_note.sql')],
    release: 'v2',
    liveRelease: 'v1',
    checks: { live: runner(fake, 'live', PASSED, urls), next: runner(fake, 'next', PASSED, urls) },
    seeder: {
      seed: (url) => {
        fake.clock.ms += SEED_MS;
        fake.events.push(`seed ${url}`);
        return Promise.resolve({ tables: [{ table: 'public.orders', rows: 12 }] });
      },
    },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, true, report.failures.join('; '));
  assert.deepEqual(fake.events, [
    'create',
    'seed sqlite:/tmp/shadow-0.db',
    'apply 0002_add_order_note.sql',
    'check live',
    'check next',
    'drop',
  ]);
  assert.deepEqual(report.seeded, [{ table: 'public.orders', rows: 12 }]);
  assert.equal(report.shadow.seedMs, SEED_MS);
  assert.equal(report.cutoverMs, CREATE_MS + SEED_MS + APPLY_MS_PER_FILE + DROP_MS);
});

void test('a seeder that fails stops the check before the files and the checks, and drops the shadow', async () => {
  const fake = createFakeTarget();
  const urls: string[] = [];
  const report = await runCompatCheck({
    target: fake.live,
    files: [file('0002_add_order_note.sql')],
    release: 'v2',
    liveRelease: 'v1',
    checks: { live: runner(fake, 'live', PASSED, urls), next: runner(fake, 'next', PASSED, urls) },
    seeder: {
      seed: () => Promise.reject(new Error('canceling statement due to statement timeout')),
    },
    monotonicMs: () => fake.clock.ms,
  });
  assert.equal(report.passed, false);
  assert.deepEqual(fake.events, ['create', 'drop']);
  assert.equal(report.seedError, 'canceling statement due to statement timeout');
  assert.deepEqual(report.failures, [
    "seeding the shadow with the live database's rows failed: canceling statement due to statement timeout",
  ]);
  assert.equal(report.live, null);
  assert.equal(report.next, null);
});
