import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './set-not-null.ts';

void test('flags SET NOT NULL on an existing column in an expand file', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE users ALTER email SET NOT NULL, ALTER name SET NOT NULL;',
    ),
    [1, 1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase expand\n\nALTER TABLE ONLY users ALTER COLUMN email SET NOT NULL;',
    ),
    [3],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;');
  assert.match(finding?.fix ?? '', /contract/);
});

void test('does not flag contract files, new tables, DROP NOT NULL or SET DEFAULT', async () => {
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase contract\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      "ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER COLUMN name SET DEFAULT '';",
    ),
    [],
  );
});
