import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './enum-add-value.ts';

void test('warns on adding a value to an existing enum', async () => {
  assert.deepEqual(await flaggedLines(rule, "ALTER TYPE order_status ADD VALUE 'refunded';"), [1]);
  assert.deepEqual(
    await flaggedLines(
      rule,
      "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'held' BEFORE 'paid';",
    ),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, "ALTER TYPE app.role ADD VALUE 'auditor' AFTER 'admin';"),
    [1],
  );
  const [finding] = await findingsOf(rule, "ALTER TYPE s ADD VALUE 'x';");
  assert.equal(finding?.severity, 'warning');
});

void test('does not warn on a rename, a type created in the file, or a contract file', async () => {
  assert.deepEqual(
    await flaggedLines(rule, "ALTER TYPE order_status RENAME VALUE 'a' TO 'b';"),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'great';",
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, "-- cutover:phase contract\nALTER TYPE s ADD VALUE 'x';"),
    [],
  );
});
