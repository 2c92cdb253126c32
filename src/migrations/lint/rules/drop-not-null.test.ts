import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './drop-not-null.ts';

void test('warns on DROP NOT NULL of an existing column', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE users ALTER phone DROP NOT NULL, ALTER fax DROP NOT NULL;',
    ),
    [1, 1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'SELECT 1;\nALTER TABLE ONLY public.users ALTER COLUMN phone DROP NOT NULL;',
    ),
    [2],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;');
  assert.equal(finding?.severity, 'warning');
});

void test('does not warn on SET NOT NULL, DROP DEFAULT, new tables or contract files', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN phone SET NOT NULL;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ALTER COLUMN phone DROP DEFAULT;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE TABLE t (a int NOT NULL);\nALTER TABLE t ALTER a DROP NOT NULL;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase contract\nALTER TABLE users ALTER phone DROP NOT NULL;',
    ),
    [],
  );
});
