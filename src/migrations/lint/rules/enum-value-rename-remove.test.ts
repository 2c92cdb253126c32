import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './enum-value-rename-remove.ts';

void test('flags renaming an enum value, dropping or renaming the type, deleting from pg_enum', async () => {
  assert.deepEqual(
    await flaggedLines(rule, "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'sent';"),
    [1],
  );
  assert.deepEqual(await flaggedLines(rule, 'DROP TYPE order_status;'), [1]);
  assert.deepEqual(await flaggedLines(rule, 'ALTER TYPE order_status RENAME TO status;'), [1]);
  assert.deepEqual(
    await flaggedLines(rule, "DELETE FROM pg_enum WHERE enumlabel = 'shipped';"),
    [1],
  );
  const [finding] = await findingsOf(rule, "ALTER TYPE s RENAME VALUE 'a' TO 'b';");
  assert.match(finding?.message ?? '', /'a'/);
  assert.match(finding?.fix ?? '', /ADD VALUE.*contract/);
});

void test('does not flag ADD VALUE, types created in the file, or contract files', async () => {
  assert.deepEqual(await flaggedLines(rule, "ALTER TYPE order_status ADD VALUE 'refunded';"), []);
  assert.deepEqual(
    await flaggedLines(
      rule,
      "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood RENAME VALUE 'ok' TO 'fine';\nDROP TYPE mood;",
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, "-- cutover:phase contract\nALTER TYPE s RENAME VALUE 'a' TO 'b';"),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'DELETE FROM sessions WHERE expired;'), []);
});
