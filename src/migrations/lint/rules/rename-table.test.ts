import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './rename-table.ts';

void test('flags renaming a table or view, or moving it to another schema', async () => {
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE customers RENAME TO clients;'), [1]);
  assert.deepEqual(await flaggedLines(rule, 'ALTER VIEW active_users RENAME TO live_users;'), [1]);
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE public.orders SET SCHEMA archive;'), [1]);
  const [finding] = await findingsOf(rule, 'ALTER TABLE customers RENAME TO clients;');
  assert.match(finding?.fix ?? '', /contract/);
});

void test('a view under the old name in the same transaction keeps it working', async () => {
  const sql =
    'ALTER TABLE customers RENAME TO accounts_customers;\nCREATE VIEW customers AS SELECT * FROM accounts_customers;';
  assert.deepEqual(await flaggedLines(rule, sql), []);
  // Without a transaction the old name is missing between the two statements.
  assert.deepEqual(await flaggedLines(rule, `-- cutover:transaction off\n${sql}`), [2]);
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE customers RENAME TO c2;\nCREATE VIEW other AS SELECT 1;'),
    [1],
  );
});

void test('does not flag new tables, contract files, column or index renames', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE TABLE tmp_x (id int);\nALTER TABLE tmp_x RENAME TO x;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, '-- cutover:phase contract\nALTER TABLE customers RENAME TO clients;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE customers RENAME COLUMN a TO b;\nALTER INDEX i RENAME TO j;',
    ),
    [],
  );
});
