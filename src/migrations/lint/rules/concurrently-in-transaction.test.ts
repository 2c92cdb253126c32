import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './concurrently-in-transaction.ts';
import { hitsOf } from './rule-test-kit.ts';

const OFF = '-- cutover:transaction off\n';

test('CREATE INDEX CONCURRENTLY in a transactional file (the default) is flagged', async () => {
  const hits = await hitsOf(rule, 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /25001/);
  assert.match(hits[0]?.fix ?? '', /cutover:transaction off/);
});

test('CONCURRENTLY after an explicit BEGIN in a non-transactional file is flagged', async () => {
  const sql = `${OFF}BEGIN;
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
COMMIT;`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [3],
  );
  assert.match(hits[0]?.message ?? '', /follows a BEGIN/);
});

test('DROP INDEX, REINDEX and DETACH PARTITION CONCURRENTLY in a transaction are flagged', async () => {
  const sql = `DROP INDEX CONCURRENTLY old_idx;
REINDEX INDEX CONCURRENTLY users_pkey;
ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;`;
  const hits = await hitsOf(rule, sql);
  assert.equal(hits.length, 3);
  assert.match(hits[2]?.message ?? '', /DETACH PARTITION CONCURRENTLY/);
});

test('CONCURRENTLY in a `cutover:transaction off` file passes', async () => {
  const sql = `${OFF}CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
DROP INDEX CONCURRENTLY old_idx;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('CONCURRENTLY after the explicit transaction has committed passes', async () => {
  const sql = `${OFF}BEGIN;
ALTER TABLE users ADD COLUMN note text;
COMMIT;
CREATE INDEX CONCURRENTLY users_note_idx ON users (note);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('plain CREATE INDEX and DETACH PARTITION in a transaction are not this rule', async () => {
  const sql = `CREATE INDEX i ON users (email);
ALTER TABLE events DETACH PARTITION events_2020;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
