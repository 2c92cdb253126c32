import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './backfill-in-ddl-transaction.ts';
import { hitsOf } from './rule-test-kit.ts';

test('an UPDATE after ALTER TABLE in a transactional file is flagged', async () => {
  const sql = `ALTER TABLE users ADD COLUMN email_lower text;
UPDATE users SET email_lower = lower(email);`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [2],
  );
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.fix ?? '', /cutover:transaction off/);
  assert.match(hits[0]?.fix ?? '', /LIMIT 10000/);
});

test('an UPDATE before the DDL in the same transaction is flagged too', async () => {
  const sql = `UPDATE orders SET status = 'open' WHERE status IS NULL;
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'open';`;
  assert.equal((await hitsOf(rule, sql)).length, 1);
});

test('an UPDATE inside an explicit BEGIN ... COMMIT with a CREATE INDEX is flagged', async () => {
  const sql = `-- cutover:transaction off
BEGIN;
CREATE INDEX orders_status_idx ON orders (status);
UPDATE orders SET status = 'open' WHERE status IS NULL;
COMMIT;`;
  assert.deepEqual(
    (await hitsOf(rule, sql)).map((hit) => hit.line),
    [4],
  );
});

test('a data-only transactional file passes', async () => {
  const sql = `UPDATE users SET email_lower = lower(email) WHERE id < 1000;
UPDATE users SET email_lower = lower(email) WHERE id >= 1000;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('a backfill in a transaction-off file, apart from the DDL, passes', async () => {
  const sql = `-- cutover:transaction off
ALTER TABLE users ADD COLUMN email_lower text;
UPDATE users SET email_lower = lower(email) WHERE id BETWEEN 1 AND 10000;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('filling a table created in the same file passes', async () => {
  const sql = `CREATE TABLE plans (id int PRIMARY KEY, name text);
INSERT INTO plans VALUES (1, 'free');
UPDATE plans SET name = 'Free' WHERE id = 1;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
