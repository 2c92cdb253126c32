import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hitsOf } from './rule-test-kit.ts';
import { rule } from './vacuum-full-cluster.ts';

const OFF = '-- cutover:transaction off\n';

test('VACUUM FULL of a table is flagged with the ACCESS EXCLUSIVE lock', async () => {
  const hits = await hitsOf(rule, `${OFF}VACUUM FULL orders;`);
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.message ?? '', /orders/);
  assert.match(hits[0]?.fix ?? '', /pg_repack/);
});

test('VACUUM (FULL, ANALYZE) and a database-wide VACUUM FULL are flagged', async () => {
  const hits = await hitsOf(rule, `${OFF}VACUUM (FULL, ANALYZE) orders;\nVACUUM FULL;`);
  assert.equal(hits.length, 2);
  assert.match(hits[1]?.message ?? '', /every table/);
});

test('CLUSTER with and without a table is flagged', async () => {
  const hits = await hitsOf(rule, 'CLUSTER orders USING orders_created_at_idx;\nCLUSTER;');
  assert.equal(hits.length, 2);
  assert.match(hits[0]?.message ?? '', /CLUSTER rewrites orders/);
});

test('plain VACUUM, VACUUM ANALYZE and ANALYZE pass', async () => {
  assert.deepEqual(
    await hitsOf(rule, `${OFF}VACUUM orders;\nVACUUM (ANALYZE) orders;\nANALYZE orders;`),
    [],
  );
});

test('VACUUM (FULL false) passes', async () => {
  assert.deepEqual(await hitsOf(rule, `${OFF}VACUUM (FULL false, VERBOSE) orders;`), []);
});

test('ALTER TABLE ... CLUSTER ON only marks the index and passes', async () => {
  assert.deepEqual(await hitsOf(rule, 'ALTER TABLE orders CLUSTER ON orders_created_at_idx;'), []);
});
