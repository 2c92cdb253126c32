import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './sqlite-table-rebuild.ts';

const rebuild = (copy: string): string =>
  [
    'CREATE TABLE users_new (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL);',
    copy,
    'DROP TABLE users;',
    'ALTER TABLE users_new RENAME TO users;',
  ].join('\n');

void test('flags a rebuild that copies named columns, or nothing', async () => {
  assert.deepEqual(
    await flaggedLines(
      rule,
      rebuild('INSERT INTO users_new (id, email) SELECT id, email FROM users;'),
      {
        dialect: 'sqlite',
      },
    ),
    [3],
  );
  assert.deepEqual(await flaggedLines(rule, rebuild('SELECT 1;'), { dialect: 'sqlite' }), [3]);
  assert.deepEqual(
    await flaggedLines(
      rule,
      rebuild('INSERT OR IGNORE INTO users_new (id) SELECT id FROM users;'),
      {
        dialect: 'sqlite',
      },
    ),
    [3],
  );
  const [unparsed] = await findingsOf(
    rule,
    rebuild('INSERT OR IGNORE INTO users_new (id, "email") SELECT id, "email" FROM users;'),
    { dialect: 'sqlite' },
  );
  assert.match(unparsed?.message ?? '', /copies only id, email into users_new/);
  const [finding] = await findingsOf(
    rule,
    rebuild('INSERT INTO users_new (id, email) SELECT id, email FROM users;'),
    { dialect: 'sqlite' },
  );
  assert.match(finding?.message ?? '', /copies only id, email/);
});

void test('does not flag a full copy, a plain drop, a new table, contract files or Postgres', async () => {
  assert.deepEqual(
    await flaggedLines(rule, rebuild('INSERT INTO users_new SELECT * FROM users;'), {
      dialect: 'sqlite',
    }),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, rebuild('INSERT OR REPLACE INTO users_new SELECT * FROM users;'), {
      dialect: 'sqlite',
    }),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'DROP TABLE users;', { dialect: 'sqlite' }), []);
  assert.deepEqual(
    await flaggedLines(rule, rebuild('SELECT 1;'), { dialect: 'sqlite', newTables: ['users'] }),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, `-- cutover:phase contract\n${rebuild('SELECT 1;')}`, {
      dialect: 'sqlite',
    }),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, rebuild('SELECT 1;').replace(' AUTOINCREMENT', '')),
    [],
  );
});
