import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './add-unique-primary-key-directly.ts';
import { hitsOf } from './rule-test-kit.ts';

test('ADD CONSTRAINT UNIQUE on existing columns is flagged with the concurrent index fix', async () => {
  const hits = await hitsOf(
    rule,
    'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
  );
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(
    hits[0]?.fix ?? '',
    /CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users \(email\)/,
  );
  assert.match(hits[0]?.fix ?? '', /UNIQUE USING INDEX users_email_key/);
});

test('ADD PRIMARY KEY is flagged and the fix asks for NOT NULL columns first', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE legacy_events ADD PRIMARY KEY (id);');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.fix ?? '', /PRIMARY KEY USING INDEX legacy_events_id_key/);
  assert.match(hits[0]?.fix ?? '', /NOT NULL/);
});

test('a new column declared UNIQUE on an existing table is flagged', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE users ADD COLUMN handle text UNIQUE;');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.fix ?? '', /ON users \(handle\)/);
});

test('ADD EXCLUDE is flagged', async () => {
  const hits = await hitsOf(
    rule,
    'ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);',
  );
  assert.equal(hits.length, 1);
});

test('UNIQUE / PRIMARY KEY USING INDEX pass', async () => {
  const sql = `ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
ALTER TABLE legacy_events ADD CONSTRAINT legacy_events_pkey PRIMARY KEY USING INDEX legacy_events_id_key;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('UNIQUE and PRIMARY KEY on a table created in the same file pass', async () => {
  const sql = `CREATE TABLE api_keys (id bigint, token text);
ALTER TABLE api_keys ADD PRIMARY KEY (id);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_token_key UNIQUE (token);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('CHECK constraints and plain columns are not this rule', async () => {
  const sql = `ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;
ALTER TABLE users ADD COLUMN nickname text;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
