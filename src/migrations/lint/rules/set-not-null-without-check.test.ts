import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './set-not-null-without-check.ts';
import { hitsOf } from './rule-test-kit.ts';

test('SET NOT NULL alone is flagged with the ACCESS EXCLUSIVE scan and the CHECK recipe', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.fix ?? '', /CHECK \(email IS NOT NULL\) NOT VALID/);
});

test('a NOT VALID CHECK that is never validated does not count', async () => {
  const sql = `ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;`;
  assert.deepEqual(
    (await hitsOf(rule, sql)).map((hit) => hit.line),
    [2],
  );
});

test('a validated CHECK on another column or table does not count', async () => {
  const sql = `ALTER TABLE users VALIDATE CONSTRAINT users_name_not_null;
ALTER TABLE accounts ADD CONSTRAINT accounts_email_nn CHECK (email IS NOT NULL);
ALTER TABLE users ALTER COLUMN email SET NOT NULL;`;
  assert.deepEqual(
    (await hitsOf(rule, sql)).map((hit) => hit.line),
    [3],
  );
});

test('SET NOT NULL after VALIDATE of its NOT VALID CHECK passes', async () => {
  const sql = `-- cutover:transaction off
ALTER TABLE users ADD CONSTRAINT c1 CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT c1;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('SET NOT NULL after VALIDATE of a CHECK from an earlier migration naming the column passes', async () => {
  const sql = `ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_not_null;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('SET NOT NULL on a table created in the same run passes', async () => {
  assert.deepEqual(
    await hitsOf(rule, 'ALTER TABLE drafts ALTER COLUMN title SET NOT NULL;', {
      newTables: ['drafts'],
    }),
    [],
  );
});
