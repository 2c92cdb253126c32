import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './table-rewrite.ts';
import { hitsOf } from './rule-test-kit.ts';
import { flaggedLines } from './findings-of.ts';

test('a volatile default (random, clock_timestamp, gen_random_uuid) is flagged', async () => {
  const sql = `ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE users ADD COLUMN seen_at timestamptz NOT NULL DEFAULT clock_timestamp();
ALTER TABLE users ADD COLUMN bucket float8 DEFAULT (random() * 10);`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1, 2, 3],
  );
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.fix ?? '', /SET DEFAULT gen_random_uuid\(\)/);
});

test('a stored generated column and a serial column are flagged', async () => {
  const sql = `ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;
ALTER TABLE orders ADD COLUMN seq bigserial;
ALTER TABLE orders ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;`;
  const hits = await hitsOf(rule, sql);
  assert.equal(hits.length, 3);
  assert.match(hits[0]?.message ?? '', /STORED/);
});

test('a non-widening type change is flagged, USING always', async () => {
  const sql = `ALTER TABLE orders ALTER COLUMN quantity TYPE bigint;
ALTER TABLE orders ALTER COLUMN code TYPE varchar(20) USING trim(code);
ALTER TABLE events ALTER COLUMN at TYPE timestamptz;`;
  const hits = await hitsOf(rule, sql);
  assert.equal(hits.length, 3);
  assert.match(hits[0]?.message ?? '', /TYPE int8/);
  assert.match(hits[0]?.fix ?? '', /contract migration/);
});

test('constant and non-volatile defaults pass (no rewrite since PostgreSQL 11)', async () => {
  const sql = `ALTER TABLE users ADD COLUMN credits int DEFAULT 0;
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now();
ALTER TABLE users ADD COLUMN note text;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('widening varchar and text changes pass', async () => {
  const sql = `ALTER TABLE users ALTER COLUMN name TYPE varchar(200);
ALTER TABLE users ALTER COLUMN bio TYPE text;
ALTER TABLE prices ALTER COLUMN amount TYPE numeric(14, 2);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('rewrites of a table created in the same file pass', async () => {
  const sql = `CREATE TABLE sessions (id int);
ALTER TABLE sessions ADD COLUMN token uuid DEFAULT gen_random_uuid();
ALTER TABLE sessions ALTER COLUMN id TYPE bigint;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

void test('judges a type change against the type the earlier migrations declared', async () => {
  const earlier = [
    {
      sql: 'CREATE TABLE products (code varchar(64), price numeric(10, 2), qty int4, note text);',
    },
  ];
  // Rewrites (or a full check of every row): narrowing, another scale, int4 -> int8, text -> varchar(n).
  for (const sql of [
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(12);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(12, 4);',
    'ALTER TABLE products ALTER COLUMN qty TYPE int8;',
    'ALTER TABLE products ALTER COLUMN note TYPE varchar(200);',
  ]) {
    assert.deepEqual(await flaggedLines(rule, sql, { earlier }), [1], sql);
  }
  // In place: a longer varchar, text, more precision at the same scale.
  for (const sql of [
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(100);',
    'ALTER TABLE products ALTER COLUMN code TYPE text;',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(14, 2);',
    'ALTER TABLE products ALTER COLUMN note TYPE varchar;',
  ]) {
    assert.deepEqual(await flaggedLines(rule, sql, { earlier }), [], sql);
  }
});
