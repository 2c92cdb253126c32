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
