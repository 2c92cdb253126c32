import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitStatements } from './split-statements.ts';

void test('splits by the parser, with each statement line, across multi-byte text', async () => {
  const sql = [
    '-- cutover:transaction off',
    "INSERT INTO notes VALUES ('héllo; ünïcode ✓');",
    '',
    'CREATE INDEX CONCURRENTLY notes_idx',
    '  ON notes (body);',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;',
    'SELECT 2',
  ].join('\n');
  assert.deepEqual(await splitStatements(sql), [
    { sql: "INSERT INTO notes VALUES ('héllo; ünïcode ✓')", line: 2 },
    { sql: 'CREATE INDEX CONCURRENTLY notes_idx\n  ON notes (body)', line: 4 },
    { sql: 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$', line: 6 },
    { sql: 'SELECT 2', line: 7 },
  ]);
});

void test('comments only is no statement; invalid SQL throws the parser message', async () => {
  assert.deepEqual(await splitStatements('-- nothing\n/* here */\n'), []);
  await assert.rejects(splitStatements('CREATE TABLE (;'), /syntax error/);
});
