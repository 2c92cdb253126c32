import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hitsOf } from './rule-test-kit.ts';
import { rule } from './unterminated-nested-begin.ts';

const OFF = '-- cutover:transaction off\n';

test('BEGIN ... COMMIT inside a transactional file is flagged once, at the BEGIN', async () => {
  const sql = `BEGIN;
ALTER TABLE users ADD COLUMN note text;
COMMIT;`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1],
  );
  assert.match(hits[0]?.message ?? '', /already runs in a transaction/);
});

test('a stray COMMIT in a transactional file is flagged', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE users ADD COLUMN note text;\nCOMMIT;');
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [2],
  );
});

test('a nested BEGIN in a transaction-off file is flagged', async () => {
  const sql = `${OFF}BEGIN;
ALTER TABLE users ADD COLUMN a text;
START TRANSACTION;
ALTER TABLE users ADD COLUMN b text;
COMMIT;
COMMIT;`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [4],
  );
  assert.match(hits[0]?.message ?? '', /do not nest/);
});

test('a BEGIN never committed is flagged', async () => {
  const hits = await hitsOf(rule, `${OFF}BEGIN;\nALTER TABLE users ADD COLUMN a text;`);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [2],
  );
  assert.match(hits[0]?.message ?? '', /without a COMMIT/);
});

test('SQLite BEGIN IMMEDIATE in a transactional SQLite file is flagged', async () => {
  const hits = await hitsOf(rule, 'BEGIN IMMEDIATE;\nCREATE TABLE t (a INTEGER);\nCOMMIT;', {
    dialect: 'sqlite',
  });
  assert.equal(hits.length, 1);
});

test('BEGIN ... COMMIT blocks, one after the other, in a transaction-off file pass', async () => {
  const sql = `${OFF}BEGIN;
ALTER TABLE users ADD COLUMN a text;
COMMIT;
BEGIN;
SAVEPOINT step;
ALTER TABLE users ADD COLUMN b text;
ROLLBACK TO SAVEPOINT step;
END;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('a transactional file without transaction control passes', async () => {
  assert.deepEqual(
    await hitsOf(rule, 'ALTER TABLE users ADD COLUMN a text;\nSAVEPOINT s;\nRELEASE SAVEPOINT s;'),
    [],
  );
});

test('SQLite BEGIN IMMEDIATE ... ROLLBACK TRANSACTION TO ... COMMIT in a transaction-off file passes', async () => {
  const sql = `${OFF}BEGIN IMMEDIATE TRANSACTION;
SAVEPOINT copy;
INSERT INTO t SELECT * FROM s;
ROLLBACK TRANSACTION TO SAVEPOINT copy;
COMMIT;`;
  assert.deepEqual(await hitsOf(rule, sql, { dialect: 'sqlite' }), []);
});

test('a SQLite trigger body BEGIN ... END is not transaction control', async () => {
  const sql = `${OFF}CREATE TRIGGER touch AFTER UPDATE ON users BEGIN UPDATE users SET seen = 1 WHERE id = NEW.id; END;`;
  assert.deepEqual(await hitsOf(rule, sql, { dialect: 'sqlite' }), []);
});
