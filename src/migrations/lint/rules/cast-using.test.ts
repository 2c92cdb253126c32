import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './cast-using.ts';
import { hitsOf } from './rule-test-kit.ts';

test('a plain cast to integer warns with a query listing the values it cannot convert', async () => {
  const hits = await hitsOf(
    rule,
    'ALTER TABLE orders ALTER COLUMN quantity TYPE integer USING quantity::integer;',
  );
  assert.equal(hits.length, 1);
  assert.equal(
    hits[0]?.preflight,
    "SELECT quantity FROM orders WHERE quantity IS NOT NULL AND quantity::text !~* '^\\s*[-+]?[0-9]+\\s*$' LIMIT 10",
  );
  assert.match(hits[0]?.message ?? '', /USING quantity::integer/);
});

test('a cast to boolean and to uuid use their accepted spellings', async () => {
  const sql = `ALTER TABLE users ALTER COLUMN active TYPE boolean USING active::boolean,
  ALTER COLUMN token TYPE uuid USING CAST(token AS uuid);`;
  const hits = await hitsOf(rule, sql);
  assert.equal(hits.length, 2);
  assert.match(hits[0]?.preflight ?? '', /active::text !~\* '\^\\s\*\(t\|true/);
  assert.match(hits[1]?.preflight ?? '', /token::text !~\* '\^\\s\*\\\{\?\[0-9a-fA-F\]\{8\}/);
});

test('any other USING expression warns with a query that evaluates it on every row', async () => {
  const sql = `ALTER TABLE events ALTER COLUMN happened_on TYPE date USING to_date(happened_on, 'YYYY-MM-DD');`;
  const hits = await hitsOf(rule, sql);
  assert.equal(
    hits[0]?.preflight,
    "SELECT count((to_date(happened_on, 'YYYY-MM-DD'))::date) FROM events",
  );
});

test('a type change without USING is not this rule', async () => {
  assert.deepEqual(
    await hitsOf(rule, 'ALTER TABLE users ALTER COLUMN name TYPE varchar(200);'),
    [],
  );
});

test('USING on a table created in the same file passes', async () => {
  const sql = `CREATE TABLE imports (n text);
ALTER TABLE imports ALTER COLUMN n TYPE int USING n::int;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('other ALTER TABLE commands and an index USING method pass', async () => {
  const sql = `ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
CREATE INDEX CONCURRENTLY users_tags ON users USING gin (tags);`;
  assert.deepEqual(await hitsOf(rule, `-- cutover:transaction off\n${sql}`), []);
});
