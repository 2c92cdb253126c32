import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './detach-partition-without-concurrently.ts';
import { hitsOf } from './rule-test-kit.ts';

test('DETACH PARTITION without CONCURRENTLY is flagged with the parent lock', async () => {
  const hits = await hitsOf(rule, 'ALTER TABLE events DETACH PARTITION events_2023;');
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE lock on the partitioned table events/);
  assert.match(hits[0]?.fix ?? '', /DETACH PARTITION events_2023 CONCURRENTLY/);
});

test('a schema-qualified parent and a transaction-off file are flagged all the same', async () => {
  const hits = await hitsOf(
    rule,
    '-- cutover:transaction off\nALTER TABLE metrics.samples DETACH PARTITION metrics.samples_2022;',
  );
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /metrics\.samples_2022/);
  assert.equal(hits[0]?.line, 2);
});

test('each plain detach of a file is flagged on its own line', async () => {
  const sql =
    'ALTER TABLE events DETACH PARTITION events_2021;\nALTER TABLE logs DETACH PARTITION logs_1;';
  assert.deepEqual(
    (await hitsOf(rule, sql)).map((hit) => hit.line),
    [1, 2],
  );
});

test('DETACH PARTITION CONCURRENTLY and FINALIZE pass', async () => {
  // FINALIZE completes an interrupted concurrent detach under SHARE UPDATE EXCLUSIVE.
  const sql = `-- cutover:transaction off
ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;
ALTER TABLE events DETACH PARTITION events_2021 FINALIZE;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('ATTACH PARTITION and other ALTER TABLE commands are not this rule', async () => {
  const sql = `ALTER TABLE events ATTACH PARTITION events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE events ADD COLUMN source text;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('detaching from a table created in the same file passes', async () => {
  const sql = `CREATE TABLE staging (at date) PARTITION BY RANGE (at);
CREATE TABLE staging_1 PARTITION OF staging FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
ALTER TABLE staging DETACH PARTITION staging_1;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
