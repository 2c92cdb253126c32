// Against a real PostgreSQL server (test/helpers/postgres.ts): the inspector sees exactly the
// statements that rewrite a table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPostgres } from '../../../test/helpers/postgres.ts';
import type { TestPostgres } from '../../../test/helpers/postgres.ts';
import { createPgTableInspector } from './pg-table-inspector.ts';

let server: TestPostgres;
let url: string;

before(async () => {
  server = await startTestPostgres();
  url = await server.createDatabase('inspector');
  await sql(
    'CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL);' +
      "INSERT INTO orders SELECT g, 'c' || g FROM generate_series(1, 100) g;" +
      'CREATE TABLE products (id text PRIMARY KEY);',
  );
});

after(async () => {
  await server.stop();
});

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function rewritten(statement: string): Promise<string[]> {
  const inspector = createPgTableInspector();
  const before = await inspector.snapshot(url);
  await sql(statement);
  const after = await inspector.snapshot(url);
  return [...before]
    .filter(([table, storage]) => after.has(table) && after.get(table) !== storage)
    .map(([table]) => table);
}

void test('lists every user table with its storage file, and no catalog table', async () => {
  const snapshot = await createPgTableInspector().snapshot(url);
  assert.deepEqual([...snapshot.keys()].sort(), ['public.orders', 'public.products']);
  for (const storage of snapshot.values()) assert.match(storage, /^[1-9]\d*$/);
});

void test('a constant default or a nullable column is no rewrite', async () => {
  assert.deepEqual(await rewritten('ALTER TABLE orders ADD COLUMN note text'), []);
  assert.deepEqual(await rewritten('ALTER TABLE orders ADD COLUMN quantity int DEFAULT 1'), []);
  assert.deepEqual(await rewritten('CREATE INDEX orders_customer ON orders (customer)'), []);
});

void test('a volatile default, a non-widening type change and VACUUM FULL rewrite the table', async () => {
  assert.deepEqual(
    await rewritten(
      'ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT clock_timestamp()',
    ),
    ['public.orders'],
  );
  assert.deepEqual(await rewritten('ALTER TABLE orders ALTER COLUMN quantity TYPE bigint'), [
    'public.orders',
  ]);
  assert.deepEqual(await rewritten('VACUUM FULL products'), ['public.products']);
});
