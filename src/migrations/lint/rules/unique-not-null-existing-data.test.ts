import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hitsOf } from './rule-test-kit.ts';
import { rule } from './unique-not-null-existing-data.ts';

const OFF = '-- cutover:transaction off\n';

test('a unique index on existing columns warns with a duplicates query', async () => {
  const hits = await hitsOf(
    rule,
    `${OFF}CREATE UNIQUE INDEX CONCURRENTLY users_a_b ON users (a, b);`,
  );
  assert.equal(hits.length, 1);
  assert.equal(
    hits[0]?.preflight,
    'SELECT a, b, count(*) FROM users WHERE a IS NOT NULL AND b IS NOT NULL GROUP BY a, b HAVING count(*) > 1 LIMIT 10',
  );
  assert.match(hits[0]?.message ?? '', /duplicates/);
});

test('an expression and partial unique index keeps the expression and the predicate', async () => {
  const sql = `${OFF}CREATE UNIQUE INDEX CONCURRENTLY users_email_lower ON public."user" (lower(email) DESC) WHERE deleted_at IS NULL;`;
  const hits = await hitsOf(rule, sql);
  assert.equal(
    hits[0]?.preflight,
    'SELECT lower(email), count(*) FROM public."user" WHERE (deleted_at IS NULL) AND lower(email) IS NOT NULL GROUP BY lower(email) HAVING count(*) > 1 LIMIT 10',
  );
});

test('ADD PRIMARY KEY warns with the duplicates and the NULLs queries', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE events ADD PRIMARY KEY (id);');
  assert.equal(
    hits[0]?.preflight,
    'SELECT id, count(*) FROM events GROUP BY id HAVING count(*) > 1 LIMIT 10;\nSELECT count(*) FROM events WHERE id IS NULL',
  );
});

test('SET NOT NULL and a validated CHECK (col IS NOT NULL) warn with a NULL count', async () => {
  const sql = `ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL);`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.preflight),
    [
      'SELECT count(*) FROM users WHERE email IS NULL',
      'SELECT count(*) FROM users WHERE name IS NULL',
    ],
  );
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1, 2],
  );
});

test('a parenthesized expression, an operator class and INCLUDE columns are handled', async () => {
  const sql = `${OFF}CREATE UNIQUE INDEX CONCURRENTLY ON users ((data->>'k'), lower(name) text_pattern_ops) INCLUDE (id);`;
  const hits = await hitsOf(rule, sql);
  assert.equal(
    hits[0]?.preflight,
    "SELECT (data->>'k'), lower(name), count(*) FROM users WHERE (data->>'k') IS NOT NULL AND lower(name) IS NOT NULL GROUP BY (data->>'k'), lower(name) HAVING count(*) > 1 LIMIT 10",
  );
});

test('UNIQUE USING INDEX, a NOT VALID CHECK, and a plain index pass', async () => {
  const sql = `ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;
CREATE INDEX users_email_idx ON users (email);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('unique and not-null on a table created in the same file pass', async () => {
  const sql = `CREATE TABLE coupons (code text, owner bigint);
CREATE UNIQUE INDEX coupons_code ON coupons (code);
ALTER TABLE coupons ALTER COLUMN owner SET NOT NULL;
ALTER TABLE coupons ADD CONSTRAINT coupons_owner_code UNIQUE (owner, code);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('SET NOT NULL after a validated CHECK (col IS NOT NULL) passes: the VALIDATE checked the rows', async () => {
  const sql = `-- cutover:transaction off
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
