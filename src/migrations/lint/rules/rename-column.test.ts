import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './rename-column.ts';

void test('flags renaming a column of an existing table', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders RENAME COLUMN customer TO customer_name;'),
    [1],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE orders RENAME customer TO buyer;'), [1]);
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders RENAME COLUMN a TO b;', { dialect: 'sqlite' }),
    [1],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE orders RENAME COLUMN a TO b;');
  assert.match(finding?.fix ?? '', /add the column b.*backfill.*contract/);
});

void test('does not flag new tables, contract files, or renaming the table or a constraint', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, '-- cutover:phase contract\nALTER TABLE orders RENAME COLUMN a TO b;'),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE orders RENAME CONSTRAINT c1 TO c2;'), []);
});
