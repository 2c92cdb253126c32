import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './change-column-type.ts';

void test('flags type changes that are not widenings, and any USING conversion', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN age TYPE smallint;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN born TYPE date USING born::date;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE events ALTER COLUMN at TYPE timestamptz;'),
    [1],
  );
  // A USING clause converts values even into a wide type.
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE t ALTER COLUMN code TYPE text USING lower(code);'),
    [1],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE t ALTER COLUMN tags TYPE text[];'), [1]);
  // text -> integer: the plain cast still converts labels into numbers.
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ALTER COLUMN status TYPE integer USING status::integer;',
    ),
    [1],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE users ALTER COLUMN age TYPE smallint;');
  assert.match(finding?.message ?? '', /users\.age to int2/);
  assert.match(finding?.fix ?? '', /age_new/);
});

void test('does not flag widenings, int -> bigint (table-rewrite judges it) or new tables', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN name TYPE varchar(200);'),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN name TYPE text;'), []);
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE orders ALTER COLUMN id TYPE bigint;'), []);
  // Casting the column to the new type itself converts nothing more.
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE p ALTER COLUMN cents SET DATA TYPE bigint USING cents::bigint;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE p ALTER COLUMN cents TYPE bigint USING other::bigint;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE prices ALTER COLUMN amount SET DATA TYPE numeric(14, 2);',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE boolean USING a <> 0;',
    ),
    [],
  );
});

/** The column types the earlier migrations of the folder declare (the schema model). */
const PRODUCTS = {
  path: '001_products.sql',
  sql: `CREATE TABLE products (
  id int8 PRIMARY KEY,
  code varchar(64) NOT NULL,
  price numeric(10, 2),
  qty int4,
  note text,
  flag char(3),
  seen_at timestamp(6)
);
ALTER TABLE products ADD COLUMN total bigint, ADD COLUMN label varchar(40);`,
};
const earlier = [PRODUCTS];

void test('flags a narrowing against the type the earlier migrations declared', async () => {
  const narrowings = [
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(12);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(8, 2);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(12, 1);',
    'ALTER TABLE products ALTER COLUMN total TYPE int4;',
    'ALTER TABLE products ALTER COLUMN note TYPE varchar(200);',
    'ALTER TABLE public.products ALTER COLUMN label TYPE varchar(20);',
    'ALTER TABLE products ALTER COLUMN seen_at TYPE timestamp(0);',
    'ALTER TABLE products ALTER COLUMN flag TYPE varchar(3);',
  ];
  for (const sql of narrowings) {
    assert.deepEqual(await flaggedLines(rule, sql, { earlier }), [1], sql);
  }
  const [finding] = await findingsOf(
    rule,
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(12);',
    { earlier },
  );
  assert.match(finding?.message ?? '', /products\.code from varchar\(64\) to varchar\(12\)/);
});

void test('follows the earlier type changes, renames and drops of the folder', async () => {
  const later = {
    sql: `ALTER TABLE products ALTER COLUMN code TYPE varchar(100);
ALTER TABLE products RENAME COLUMN label TO title;
ALTER TABLE products RENAME TO items;`,
  };
  // varchar(100) now: 80 narrows it, 120 does not; title keeps label's type.
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE items ALTER COLUMN code TYPE varchar(80);', {
      earlier: [PRODUCTS, later],
    }),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE items ALTER COLUMN code TYPE varchar(120);', {
      earlier: [PRODUCTS, later],
    }),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE items ALTER COLUMN title TYPE varchar(10);', {
      earlier: [PRODUCTS, later],
    }),
    [1],
  );
  // Dropped and created again as text: widening to text is clean, narrowing is not.
  const recreated = { sql: 'DROP TABLE products;\nCREATE TABLE products (code text);' };
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE products ALTER COLUMN code TYPE varchar(64);', {
      earlier: [PRODUCTS, recreated],
    }),
    [1],
  );
  // The same file: an earlier statement narrows what a later one is judged against.
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE products ALTER COLUMN code TYPE varchar(200);\nALTER TABLE products ALTER COLUMN code TYPE varchar(100);',
      { earlier },
    ),
    [2],
  );
});

void test('does not flag widenings against the declared type, nor unknown columns by their model', async () => {
  const widenings = [
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(128);',
    'ALTER TABLE products ALTER COLUMN code TYPE text;',
    'ALTER TABLE products ALTER COLUMN code TYPE varchar;',
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(64);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(12, 2);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric(12, 4);',
    'ALTER TABLE products ALTER COLUMN price TYPE numeric;',
    'ALTER TABLE products ALTER COLUMN qty TYPE bigint;',
    'ALTER TABLE products ALTER COLUMN qty TYPE numeric(10, 0);',
    'ALTER TABLE products ALTER COLUMN label TYPE text;',
    'ALTER TABLE products ALTER COLUMN seen_at TYPE timestamp;',
    'ALTER TABLE products ALTER COLUMN code TYPE varchar(100) USING code::varchar(100);',
  ];
  for (const sql of widenings) {
    assert.deepEqual(await flaggedLines(rule, sql, { earlier }), [], sql);
  }
  // Unknown to the model (another table, a new column): judged by the target, as before.
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders ALTER COLUMN ref TYPE varchar(12);', { earlier }),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders ALTER COLUMN ref TYPE smallint;', { earlier }),
    [1],
  );
  // A USING conversion is flagged even into a wider type.
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE products ALTER COLUMN code TYPE text USING upper(code);',
      {
        earlier,
      },
    ),
    [1],
  );
  // An earlier file the parser cannot read adds nothing (and is no error).
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE products ALTER COLUMN code TYPE varchar(12);', {
      earlier: [{ sql: 'CREATE TABLE products (code varchar(64)' }],
    }),
    [],
  );
});
