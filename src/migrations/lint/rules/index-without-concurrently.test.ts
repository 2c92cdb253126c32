import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './index-without-concurrently.ts';
import { hitsOf } from './rule-test-kit.ts';

const OFF = '-- cutover:transaction off\n';

test('CREATE INDEX on an existing table without CONCURRENTLY is flagged with the SHARE lock', async () => {
  const hits = await hitsOf(rule, 'CREATE INDEX users_email_idx ON users (email);');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /SHARE lock on users/);
  assert.match(hits[0]?.fix ?? '', /CREATE INDEX CONCURRENTLY users_email_idx ON users/);
  assert.match(hits[0]?.fix ?? '', /cutover:transaction off/);
});

test('CREATE UNIQUE INDEX on a schema-qualified table is flagged', async () => {
  const hits = await hitsOf(rule, 'CREATE UNIQUE INDEX idx ON shop.orders (number);');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /shop\.orders/);
});

test('DROP INDEX without CONCURRENTLY is flagged with the ACCESS EXCLUSIVE lock', async () => {
  const hits = await hitsOf(rule, 'DROP INDEX IF EXISTS users_email_idx;');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.fix ?? '', /DROP INDEX CONCURRENTLY users_email_idx/);
});

test('REINDEX TABLE and REINDEX INDEX without CONCURRENTLY are flagged', async () => {
  const hits = await hitsOf(rule, 'REINDEX TABLE users;\nREINDEX INDEX users_pkey;');
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1, 2],
  );
});

test('the CONCURRENTLY forms pass', async () => {
  const sql = `${OFF}CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
DROP INDEX CONCURRENTLY old_idx;
REINDEX INDEX CONCURRENTLY users_pkey;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('an index on a table created in the same file needs no CONCURRENTLY', async () => {
  const sql = `CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint);
CREATE INDEX invoices_customer_idx ON invoices (customer_id);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('an index on a table created by an earlier pending migration needs no CONCURRENTLY', async () => {
  const hits = await hitsOf(rule, 'CREATE INDEX i ON invoices (customer_id);', {
    newTables: ['invoices'],
  });
  assert.deepEqual(hits, []);
});

test('dropping an index created earlier in the same file passes; other statements are ignored', async () => {
  const sql = `CREATE TABLE t (a int);
CREATE INDEX t_a_idx ON t (a);
DROP INDEX t_a_idx;
DROP TABLE other;
ALTER TABLE users ADD COLUMN note text;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
