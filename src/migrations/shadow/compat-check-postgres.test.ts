// The shadow check end to end on a real PostgreSQL server (test/helpers/postgres.ts) with the
// PostgreSQL MigrationTarget: the files go onto a schema-only shadow, the live release's write
// runs there, the lock report names each statement's lock and the rewrites, and production is
// never touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { MigrationFile } from '../../core/migration-file.ts';
import type { ApplyOptions, MigrationTarget } from '../../ports/database.ts';
import { openPostgresMigrationTarget } from '../../adapters/database/postgres/postgres-migration-target.ts';
import { startTestPostgres } from '../../../test/helpers/postgres.ts';
import type { TestPostgres } from '../../../test/helpers/postgres.ts';
import { runCompatCheck } from './compat-check.ts';
import type { CheckOutcome } from './compat-check.ts';
import { createPgTableInspector } from './pg-table-inspector.ts';

const APPLY: ApplyOptions = {
  release: 'v1',
  lockTimeoutMs: 2_000,
  statementTimeoutMs: 10_000,
  retries: 0,
};

let server: TestPostgres;
let target: MigrationTarget;
let liveUrl: string;

function file(name: string, sql: string): MigrationFile {
  const checksum = createHash('sha256').update(sql).digest('hex');
  return { name, path: `migrations/${name}`, phase: 'expand', transactional: true, sql, checksum };
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What v1's code does: insert an order naming only the columns it knows. */
async function v1PlacesAnOrder(url: string): Promise<CheckOutcome> {
  const started = performance.now();
  try {
    await query(url, "INSERT INTO orders (customer) VALUES ('ada')");
    return {
      passed: true,
      checks: [{ name: 'place an order', passed: true, detail: 'inserted', durationMs: 0 }],
    };
  } catch (error) {
    const durationMs = performance.now() - started;
    const detail = (error as Error).message;
    return {
      passed: false,
      checks: [{ name: 'place an order', passed: false, detail, durationMs }],
    };
  }
}

before(async () => {
  server = await startTestPostgres();
  liveUrl = await server.createDatabase('shop_compat');
  target = await openPostgresMigrationTarget(liveUrl, { pgBinDir: server.binDir });
  await target.apply(
    [
      file(
        '0001_init.sql',
        'CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer text NOT NULL);',
      ),
    ],
    APPLY,
  );
  await query(liveUrl, "INSERT INTO orders (customer) VALUES ('first')");
});

after(async () => {
  await target.close();
  await server.stop();
});

async function shadowDatabases(): Promise<string[]> {
  const rows = await query(
    server.adminUrl,
    "SELECT datname FROM pg_database WHERE datname LIKE '%shadow%' AND datname NOT LIKE '%template%'",
  );
  return rows.map((row) => String(row.datname));
}

void test('expand files pass on the shadow; the lock report names locks and the rewrite', async () => {
  const shadowsDuringCheck: string[] = [];
  let shadowUrl = '';
  const report = await runCompatCheck({
    target,
    files: [
      file('0002_add_order_note.sql', 'ALTER TABLE orders ADD COLUMN note text;'),
      file(
        '0003_add_created_at.sql',
        'ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT clock_timestamp();\n' +
          'CREATE INDEX orders_created_at ON orders (created_at);',
      ),
    ],
    release: 'v2',
    liveRelease: 'v1',
    checks: {
      live: async (url) => {
        shadowsDuringCheck.push(...(await shadowDatabases()));
        shadowUrl = url;
        return v1PlacesAnOrder(url);
      },
      next: v1PlacesAnOrder,
    },
    apply: { lockTimeoutMs: 2_000 },
    inspector: createPgTableInspector(),
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.passed, true);
  assert.equal(shadowsDuringCheck.length, 1, 'the checks ran while one shadow existed');
  assert.ok(
    shadowUrl.endsWith(`/${shadowsDuringCheck[0]}`),
    `checks got the shadow's URL: ${shadowUrl}`,
  );
  assert.deepEqual(report.applied, ['0002_add_order_note.sql', '0003_add_created_at.sql']);
  assert.deepEqual(report.lockReport, [
    {
      file: '0002_add_order_note.sql',
      statements: [
        {
          index: 0,
          kind: 'AlterTableStmt',
          table: 'orders',
          lock: 'ACCESS EXCLUSIVE',
          rewrote: false,
        },
      ],
      rewrittenTables: [],
    },
    {
      file: '0003_add_created_at.sql',
      statements: [
        {
          index: 0,
          kind: 'AlterTableStmt',
          table: 'orders',
          lock: 'ACCESS EXCLUSIVE',
          rewrote: true,
        },
        { index: 1, kind: 'IndexStmt', table: 'orders', lock: 'SHARE', rewrote: false },
      ],
      rewrittenTables: ['public.orders'],
    },
  ]);
  assert.ok(report.cutoverMs > 0 && report.cutoverMs < 30_000, `cutoverMs ${report.cutoverMs}`);
  // Production has neither the new columns nor the shadow's test orders, and no shadow is left.
  const columns = await query(
    liveUrl,
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position",
  );
  assert.deepEqual(
    columns.map((row) => row.column_name),
    ['id', 'customer'],
  );
  assert.deepEqual(await query(liveUrl, 'SELECT customer FROM orders'), [{ customer: 'first' }]);
  assert.deepEqual(await target.applied().then((rows) => rows.map((row) => row.name)), [
    '0001_init.sql',
  ]);
  assert.deepEqual(await shadowDatabases(), []);
});

void test('a constraint the live release violates is caught on the shadow, naming the release', async () => {
  const report = await runCompatCheck({
    target,
    files: [
      file(
        '0002_require_channel.sql',
        'ALTER TABLE orders ADD COLUMN channel text;\n' +
          'ALTER TABLE orders ADD CONSTRAINT orders_channel_set CHECK (channel IS NOT NULL) NOT VALID;',
      ),
    ],
    release: 'v6',
    liveRelease: 'v2',
    checks: {
      live: v1PlacesAnOrder,
      next: async (url) => {
        await query(url, "INSERT INTO orders (customer, channel) VALUES ('bo', 'web')");
        return { passed: true, checks: [] };
      },
    },
  });
  assert.equal(report.passed, false);
  assert.equal(report.failures.length, 1);
  assert.match(
    report.failures[0] ?? '',
    /^live release v2 failed place an order on the migrated shadow: .*orders_channel_set/,
  );
  assert.equal(report.next?.outcome.passed, true);
  assert.deepEqual(await shadowDatabases(), []);
  assert.deepEqual(await target.applied().then((rows) => rows.map((row) => row.name)), [
    '0001_init.sql',
  ]);
});
