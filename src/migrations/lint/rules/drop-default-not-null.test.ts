import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './drop-default-not-null.ts';

void test('flags DROP DEFAULT on an existing column not shown to be nullable', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      "ALTER TABLE orders ADD COLUMN state text NOT NULL DEFAULT 'new';\nALTER TABLE orders ALTER COLUMN state DROP DEFAULT;",
    ),
    [2],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ALTER status DROP DEFAULT, ALTER kind DROP DEFAULT;',
    ),
    [1, 1],
  );
  const [finding] = await findingsOf(rule, 'ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;');
  assert.match(finding?.message ?? '', /NOT NULL/);
});

void test('does not flag nullable columns, SET DEFAULT, contract files or new tables', async () => {
  assert.deepEqual(
    await flaggedLines(
      rule,
      "ALTER TABLE orders ADD COLUMN note text DEFAULT '';\nALTER TABLE orders ALTER COLUMN note DROP DEFAULT;",
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ALTER COLUMN status DROP NOT NULL, ALTER COLUMN status DROP DEFAULT;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';"),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase contract\nALTER TABLE orders ALTER COLUMN status DROP DEFAULT;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE TABLE t (a int NOT NULL DEFAULT 1);\nALTER TABLE t ALTER a DROP DEFAULT;',
    ),
    [],
  );
});
