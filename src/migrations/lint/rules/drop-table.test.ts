import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './drop-table.ts';

void test('flags dropping a table the serving version uses', async () => {
  assert.deepEqual(await flaggedLines(rule, 'DROP TABLE users;'), [1]);
  assert.deepEqual(
    await flaggedLines(rule, 'SELECT 1;\nDROP TABLE IF EXISTS legacy_orders CASCADE;'),
    [2],
  );
  // Two tables in one statement: one finding each.
  assert.deepEqual(await flaggedLines(rule, 'DROP TABLE public.a, b;'), [1, 1]);
  // Dropping then re-creating an existing table (no IF EXISTS) loses its rows.
  assert.deepEqual(
    await flaggedLines(rule, 'DROP TABLE carts;\nCREATE TABLE carts (id int);'),
    [1],
  );
  const [finding] = await findingsOf(rule, 'DROP TABLE users;');
  assert.match(finding?.message ?? '', /version still serving/);
  assert.match(finding?.fix ?? '', /contract/);
});

void test('does not flag new tables, the idempotent create, contract files or other drops', async () => {
  assert.deepEqual(await flaggedLines(rule, 'CREATE TABLE tmp (id int);\nDROP TABLE tmp;'), []);
  assert.deepEqual(
    await flaggedLines(
      rule,
      'DROP TABLE IF EXISTS audit_log;\nCREATE TABLE audit_log (id bigint);',
    ),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'DROP TABLE staged;', { newTables: ['staged'] }), []);
  assert.deepEqual(await flaggedLines(rule, '-- cutover:phase contract\nDROP TABLE users;'), []);
  assert.deepEqual(await flaggedLines(rule, 'DROP INDEX users_email_idx;\nDROP VIEW v;'), []);
});

void test('SQLite: a rebuild (drop, then rename the copy in) is left to sqlite-table-rebuild', async () => {
  const sql = [
    'CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT);',
    'INSERT INTO users_new SELECT * FROM users;',
    'DROP TABLE users;',
    'ALTER TABLE users_new RENAME TO users;',
  ].join('\n');
  assert.deepEqual(await flaggedLines(rule, sql, { dialect: 'sqlite' }), []);
  assert.deepEqual(await flaggedLines(rule, 'DROP TABLE users;', { dialect: 'sqlite' }), [1]);
});
