import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hitsOf } from './rule-test-kit.ts';
import { rule } from './sqlite-foreign-keys-in-transaction.ts';

const SQLITE = { dialect: 'sqlite' } as const;
const OFF = '-- cutover:transaction off\n';
const REBUILD = `CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
INSERT INTO users_new (id, email) SELECT id, email FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;`;

test('PRAGMA foreign_keys = OFF in a transactional SQLite file is flagged', async () => {
  const hits = await hitsOf(
    rule,
    `PRAGMA foreign_keys = OFF;\n${REBUILD}\nPRAGMA foreign_keys = ON;`,
    SQLITE,
  );
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1, 6],
  );
  assert.match(hits[0]?.message ?? '', /ignores it/);
  assert.match(hits[0]?.fix ?? '', /cutover:transaction off/);
});

test('PRAGMA foreign_keys after a BEGIN in a transaction-off file is flagged', async () => {
  const hits = await hitsOf(
    rule,
    `${OFF}BEGIN;\nPRAGMA foreign_keys=0;\n${REBUILD}\nCOMMIT;`,
    SQLITE,
  );
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [3],
  );
  assert.match(hits[0]?.message ?? '', /after a BEGIN/);
});

test('the schema-qualified and function forms are flagged', async () => {
  const hits = await hitsOf(
    rule,
    'PRAGMA main.foreign_keys = false;\nPRAGMA foreign_keys(0);',
    SQLITE,
  );
  assert.equal(hits.length, 2);
});

test("SQLite's procedure in a transaction-off file passes", async () => {
  const sql = `${OFF}PRAGMA foreign_keys = OFF;
BEGIN;
${REBUILD}
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;`;
  assert.deepEqual(await hitsOf(rule, sql, SQLITE), []);
});

test('reading the setting and other pragmas pass', async () => {
  assert.deepEqual(
    await hitsOf(
      rule,
      'PRAGMA foreign_keys;\nPRAGMA foreign_key_check;\nPRAGMA journal_mode = WAL;',
      SQLITE,
    ),
    [],
  );
});

test('the rule does not run on PostgreSQL files', async () => {
  assert.deepEqual(await hitsOf(rule, 'ALTER TABLE users ADD COLUMN a text;'), []);
});
