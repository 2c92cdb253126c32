import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './add-not-null-column-without-default.ts';

void test('flags a new NOT NULL (or primary key) column with nothing to fill it', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN tenant_id int NOT NULL;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN a text, ADD COLUMN b text NOT NULL;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN uid uuid PRIMARY KEY;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN c integer NOT NULL;', {
      dialect: 'sqlite',
    }),
    [1],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE users ADD COLUMN tenant_id int NOT NULL;');
  assert.match(finding?.message ?? '', /INSERTs/);
  assert.match(finding?.fix ?? '', /DEFAULT/);
});

void test('does not flag a default, identity, generated or serial column, nullable ones or new tables', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN x int NOT NULL DEFAULT 0;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY NOT NULL, ADD COLUMN s bigserial NOT NULL;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE items ADD COLUMN total int NOT NULL GENERATED ALWAYS AS (qty * price) STORED;',
    ),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE users ADD COLUMN note text;'), []);
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int NOT NULL;'),
    [],
  );
});
