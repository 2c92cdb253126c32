import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './missing-lock-timeout.ts';
import { hitsOf } from './rule-test-kit.ts';

const OUTSIDE = { outsideRunner: true };

test('DDL on an existing table outside the runner without lock_timeout is flagged once', async () => {
  const sql = `ALTER TABLE users ADD COLUMN nickname text;
CREATE INDEX users_nickname_idx ON users (nickname);`;
  const hits = await hitsOf(rule, sql, OUTSIDE);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1],
  );
  assert.match(hits[0]?.fix ?? '', /SET lock_timeout/);
});

test('a SET lock_timeout after the DDL does not count', async () => {
  const sql = `DROP INDEX CONCURRENTLY old_idx;
SET lock_timeout = '5s';`;
  assert.equal((await hitsOf(rule, `-- cutover:transaction off\n${sql}`, OUTSIDE)).length, 1);
});

test('lock_timeout set to 0, or reset, does not count', async () => {
  const zero = `SET lock_timeout = 0;\nALTER TABLE users DROP COLUMN legacy;`;
  assert.equal((await hitsOf(rule, zero, OUTSIDE)).length, 1);
  const reset = `SET lock_timeout = '2s';\nRESET lock_timeout;\nALTER TABLE users RENAME COLUMN a TO b;`;
  assert.deepEqual(
    (await hitsOf(rule, reset, OUTSIDE)).map((hit) => hit.line),
    [3],
  );
});

test('SET lock_timeout (or set_config) before the DDL passes', async () => {
  const set = `SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nickname text;`;
  assert.deepEqual(await hitsOf(rule, set, OUTSIDE), []);
  const local = `SET LOCAL lock_timeout TO '3s';\nALTER TABLE users ADD COLUMN nickname text;`;
  assert.deepEqual(await hitsOf(rule, local, OUTSIDE), []);
  const config = `SELECT set_config('lock_timeout', '4s', false);\nALTER TABLE users ADD COLUMN c int;`;
  assert.deepEqual(await hitsOf(rule, config, OUTSIDE), []);
});

test("files run by cutover's runner pass: it sets lock_timeout itself", async () => {
  assert.deepEqual(await hitsOf(rule, 'ALTER TABLE users ADD COLUMN nickname text;'), []);
});

test('DDL on tables created in the same file, and plain data changes, pass', async () => {
  const sql = `CREATE TABLE tags (id int);
CREATE INDEX tags_id_idx ON tags (id);
ALTER TABLE tags ADD COLUMN name text;
INSERT INTO tags VALUES (1);`;
  assert.deepEqual(await hitsOf(rule, sql, OUTSIDE), []);
});
