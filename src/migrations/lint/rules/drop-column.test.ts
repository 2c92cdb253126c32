import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './drop-column.ts';

void test('flags dropping a column of an existing table', async () => {
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE users DROP COLUMN nickname;'), [1]);
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users DROP COLUMN IF EXISTS a, DROP COLUMN b CASCADE;'),
    [1, 1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users DROP nickname;', { dialect: 'sqlite' }),
    [1],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE users DROP COLUMN nickname;');
  assert.match(finding?.message ?? '', /users\.nickname/);
});

void test('does not flag new tables, contract files, or dropping a default or constraint', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, '-- cutover:phase contract\nALTER TABLE users DROP COLUMN nickname;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE users ALTER COLUMN nickname DROP DEFAULT;\nALTER TABLE users DROP CONSTRAINT users_nick_check;',
    ),
    [],
  );
});
