import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './rename-drop-schema.ts';

void test('flags renaming or dropping a schema', async () => {
  assert.deepEqual(await flaggedLines(rule, 'ALTER SCHEMA billing RENAME TO payments;'), [1]);
  assert.deepEqual(await flaggedLines(rule, 'DROP SCHEMA reporting;'), [1]);
  assert.deepEqual(await flaggedLines(rule, 'DROP SCHEMA IF EXISTS a, b CASCADE;'), [1, 1]);
  const [finding] = await findingsOf(rule, 'DROP SCHEMA reporting CASCADE;');
  assert.match(finding?.message ?? '', /CASCADE/);
});

void test('does not flag creating a schema, one created in the file, table moves or contract files', async () => {
  assert.deepEqual(await flaggedLines(rule, 'CREATE SCHEMA IF NOT EXISTS audit;'), []);
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE SCHEMA scratch;\nALTER SCHEMA scratch RENAME TO work;'),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE t SET SCHEMA archive;'), []);
  assert.deepEqual(
    await flaggedLines(rule, '-- cutover:phase contract\nDROP SCHEMA reporting;'),
    [],
  );
});
