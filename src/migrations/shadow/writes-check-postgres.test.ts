// The writes check and the seeding of the shadow on a real PostgreSQL server: a NOT VALID CHECK
// that existing rows violate passes on the empty shadow (the compat command's fresh INSERT does
// too) but fails the old release's UPDATE once the shadow holds a sample of the live rows;
// the sample is bounded, keeps foreign keys whole, moves the sequences past it, and production
// is only ever read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresMigrationTarget } from '../../adapters/database/postgres/postgres-migration-target.ts';
import type { MigrationFile } from '../../core/migration-file.ts';
import type { MigrationTarget } from '../../ports/database.ts';
import { startTestPostgres } from '../../../test/helpers/postgres.ts';
import type { TestPostgres } from '../../../test/helpers/postgres.ts';
import { runCompatCheck } from './compat-check.ts';
import type { CheckOutcome } from './compat-check.ts';
import { createPgShadowSeeder } from './pg-shadow-seeder.ts';
import { createWritesCheck, readWritesFile } from './writes-check.ts';

let server: TestPostgres;
let root: string;
let databases = 0;

const SCHEMA = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, quantity integer NOT NULL,
                    label text GENERATED ALWAYS AS (upper(name)) STORED);
CREATE TABLE lines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    item_id integer NOT NULL REFERENCES items (id), note text);
CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), what text);
CREATE FUNCTION audit_items() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO audit (what) VALUES (TG_OP); RETURN NEW; END$$;
CREATE TRIGGER items_audit AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION audit_items();
`;

// Three items, the first two from before quantities had to be positive.
const ROWS = `
INSERT INTO items (name, quantity) VALUES ('legacy mug', 0), ('legacy shirt', 0), ('sticker', 3);
INSERT INTO lines (item_id, note) VALUES (1, 'a'), (1, 'b'), (3, 'c');
`;

const CHECK_QUANTITY = file(
  '0002_quantity_positive.sql',
  'ALTER TABLE items ADD CONSTRAINT items_quantity_positive CHECK (quantity > 0) NOT VALID;\n',
);

// What v1 writes: a new item (no id: the sequence picks it), a rename of the first item.
const WRITES = `-- v1's writes.
INSERT INTO items (name, quantity) VALUES ('new mug', 1);
UPDATE items SET name = name || ' (renamed)' WHERE id = 1;
INSERT INTO lines (item_id, note) VALUES (1, 'd');
`;

before(async () => {
  server = await startTestPostgres();
  root = await mkdtemp(join(tmpdir(), 'cutover-writes-pg-'));
});

after(async () => {
  await server.stop();
  await rm(root, { recursive: true, force: true });
});

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

async function liveDatabase(): Promise<{ url: string; target: MigrationTarget }> {
  databases += 1;
  const url = await server.createDatabase(`writes_${process.pid}_${databases}`);
  const target = await openPostgresMigrationTarget(url, { pgBinDir: server.binDir });
  await target.apply([file('0001_schema.sql', SCHEMA)], {
    release: 'v1',
    lockTimeoutMs: 2_000,
    statementTimeoutMs: 10_000,
    retries: 0,
  });
  await query(url, ROWS);
  return { url, target };
}

/** A compat command's view: v1 inserts a fresh item, which the NOT VALID check lets through. */
async function v1InsertsAnItem(url: string): Promise<CheckOutcome> {
  await query(url, "INSERT INTO items (name, quantity) VALUES ('fresh', 2)");
  return { passed: true, checks: [{ name: 'insert', passed: true, detail: '', durationMs: 0 }] };
}

async function v1Writes() {
  const path = join(root, 'writes.sql');
  await writeFile(path, WRITES);
  return readWritesFile(path, 'writes.sql', 'postgres');
}

async function snapshot(url: string): Promise<string> {
  const rows = await query(
    url,
    `SELECT (SELECT json_agg(i ORDER BY id) FROM items i)::text AS items,
            (SELECT json_agg(l ORDER BY id) FROM lines l)::text AS lines,
            (SELECT count(*) FROM audit)::text AS audit,
            (SELECT count(*) FROM pg_constraint WHERE conname = 'items_quantity_positive')::text AS checks`,
  );
  return JSON.stringify(rows);
}

void test('on the empty shadow the writes pass; seeded with the live rows, the UPDATE of a legacy row fails', async () => {
  const { url, target } = await liveDatabase();
  try {
    const before = await snapshot(url);
    const writes = await v1Writes();
    assert.deepEqual(
      writes.statements.map((statement) => statement.table),
      ['items', 'items', 'lines'],
    );

    const empty = await runCompatCheck({
      target,
      files: [CHECK_QUANTITY],
      release: 'v2',
      liveRelease: 'v1',
      checks: {
        live: async (shadowUrl) => {
          const insert = await v1InsertsAnItem(shadowUrl);
          const written = await createWritesCheck({ file: writes, dialect: 'postgres' })(shadowUrl);
          return {
            passed: insert.passed && written.passed,
            checks: [...insert.checks, ...written.checks],
          };
        },
        next: () => Promise.resolve({ passed: true, checks: [] }),
      },
    });
    assert.deepEqual(empty.failures, [], 'the empty shadow misses it');

    const seeded = await runCompatCheck({
      target,
      files: [CHECK_QUANTITY],
      release: 'v2',
      liveRelease: 'v1',
      checks: {
        live: createWritesCheck({ file: writes, dialect: 'postgres' }),
        next: () => Promise.resolve({ passed: true, checks: [] }),
      },
      seeder: createPgShadowSeeder({ liveUrl: url, tables: ['items', 'public.lines'] }),
    });
    assert.equal(seeded.passed, false);
    assert.deepEqual(seeded.seeded, [
      { table: 'public.items', rows: 3 },
      { table: 'public.lines', rows: 3 },
    ]);
    assert.equal(seeded.failures.length, 1, JSON.stringify(seeded.failures));
    // Line 2's INSERT passed: the sequence was moved past the sampled ids.
    assert.match(
      seeded.failures[0] ?? '',
      /^live release v1 failed its write at writes\.sql:3 on the migrated shadow: UPDATE items SET name = name \|\| ' \(renamed\)' WHERE id = 1: new row for relation "items" violates check constraint "items_quantity_positive"/,
    );
    assert.ok(seeded.shadow.seedMs > 0);
    // Production was read, never written: same rows, no audit row from the seeding, no check.
    assert.equal(await snapshot(url), before);
  } finally {
    await target.close();
  }
});

void test('the sample is bounded per table, and the parents sampled are those the sampled children reference', async () => {
  const { url, target } = await liveDatabase();
  try {
    // The lines point at items 3 and 1: a plain first-two sample of items (1, 2) would miss 3.
    await query(
      url,
      "DELETE FROM lines; INSERT INTO lines (item_id, note) VALUES (3, 'c'), (1, 'a'), (2, 'b')",
    );
    const seen: Record<string, unknown>[][] = [];
    const report = await runCompatCheck({
      target,
      files: [file('0002_noop.sql', 'CREATE TABLE notes (id integer);\n')],
      release: 'v2',
      checks: {
        next: async (shadowUrl) => {
          seen.push(await query(shadowUrl, 'SELECT id, name, label FROM items ORDER BY id'));
          seen.push(await query(shadowUrl, 'SELECT item_id, note FROM lines ORDER BY id'));
          seen.push(await query(shadowUrl, 'SELECT count(*)::int AS n FROM audit'));
          // Defaults after the sample: the next serial value is past the sampled ids.
          seen.push(
            await query(
              shadowUrl,
              "INSERT INTO items (name, quantity) VALUES ('x', 1) RETURNING id",
            ),
          );
          return { passed: true, checks: [] };
        },
      },
      // Only lines is written: items comes in as the table lines references.
      seeder: createPgShadowSeeder({ liveUrl: url, tables: ['lines'], maxRowsPerTable: 2 }),
    });
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.seeded, [
      { table: 'public.items', rows: 2 },
      { table: 'public.lines', rows: 2 },
    ]);
    assert.deepEqual(seen, [
      [
        { id: 1, name: 'legacy mug', label: 'LEGACY MUG' },
        { id: 3, name: 'sticker', label: 'STICKER' },
      ],
      [
        { item_id: 3, note: 'c' },
        { item_id: 1, note: 'a' },
      ],
      // The audit trigger did not fire for the seeded rows.
      [{ n: 0 }],
      [{ id: 4 }],
    ]);
  } finally {
    await target.close();
  }
});

void test('a row whose parent row is not on the shadow is left out (a self-reference)', async () => {
  const { url } = await liveDatabase();
  await query(
    url,
    `CREATE TABLE categories (id integer PRIMARY KEY, parent_id integer REFERENCES categories (id));
     INSERT INTO categories VALUES (1, NULL), (3, NULL);
     INSERT INTO categories VALUES (2, 3);`,
  );
  const shadowUrl = await server.createDatabase(`writes_${process.pid}_self_${databases}`);
  await query(
    shadowUrl,
    'CREATE TABLE categories (id integer PRIMARY KEY, parent_id integer REFERENCES categories (id))',
  );
  // Rows 1 and 3 fit the sample; 2 points at 3, which the same statement inserts: left out.
  const seeder = createPgShadowSeeder({ liveUrl: url, tables: ['categories'], maxRowsPerTable: 3 });
  assert.deepEqual(await seeder.seed(shadowUrl), {
    tables: [{ table: 'public.categories', rows: 2 }],
  });
  assert.deepEqual(await query(shadowUrl, 'SELECT id FROM categories ORDER BY id'), [
    { id: 1 },
    { id: 3 },
  ]);
});

void test('a table production does not have yet, or a view, is not sampled', async () => {
  const { url } = await liveDatabase();
  await query(url, 'CREATE VIEW stocked AS SELECT * FROM items WHERE quantity > 0');
  const seeder = createPgShadowSeeder({
    liveUrl: url,
    tables: ['created_by_the_migration', 'stocked'],
  });
  const shadowUrl = await server.createDatabase(`writes_${process.pid}_empty_${databases}`);
  assert.deepEqual(await seeder.seed(shadowUrl), { tables: [] });
});
