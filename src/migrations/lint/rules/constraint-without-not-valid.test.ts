import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rule } from './constraint-without-not-valid.ts';
import { hitsOf } from './rule-test-kit.ts';

test('a CHECK added without NOT VALID is flagged with the ACCESS EXCLUSIVE scan', async () => {
  const hits = await hitsOf(
    rule,
    'ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);',
  );
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /ACCESS EXCLUSIVE/);
  assert.match(hits[0]?.fix ?? '', /NOT VALID/);
  assert.match(hits[0]?.fix ?? '', /VALIDATE CONSTRAINT orders_total_positive/);
});

test('a FOREIGN KEY added without NOT VALID is flagged with both tables locked', async () => {
  const hits = await hitsOf(
    rule,
    'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
  );
  assert.equal(hits.length, 1);
  assert.match(hits[0]?.message ?? '', /SHARE ROW EXCLUSIVE locks on orders and users/);
});

test('a new column with a CHECK, or with REFERENCES and a DEFAULT, is flagged', async () => {
  const sql = `ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0);
ALTER TABLE orders ADD COLUMN coupon_id bigint DEFAULT 1 REFERENCES coupons (id);`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [1, 2],
  );
  assert.match(hits[0]?.message ?? '', /ADD COLUMN discount with a CHECK/);
  assert.match(hits[1]?.message ?? '', /ADD COLUMN coupon_id with a FOREIGN KEY/);
});

test('a new column with REFERENCES and no default passes: its NULLs need no scan', async () => {
  const sql = 'ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);';
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('VALIDATE in the same transaction as its ADD ... NOT VALID is flagged', async () => {
  const sql = `ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;`;
  const hits = await hitsOf(rule, sql);
  assert.deepEqual(
    hits.map((hit) => hit.line),
    [2],
  );
  assert.match(hits[0]?.fix ?? '', /later migration/);
});

test('NOT VALID alone, and VALIDATE alone in a later file, pass', async () => {
  assert.deepEqual(
    await hitsOf(rule, 'ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;'),
    [],
  );
  assert.deepEqual(await hitsOf(rule, 'ALTER TABLE orders VALIDATE CONSTRAINT c;'), []);
});

test('NOT VALID then VALIDATE in separate statements of a non-transactional file pass', async () => {
  const sql = `-- cutover:transaction off
ALTER TABLE orders ADD CONSTRAINT c CHECK (total >= 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT c;`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('constraints on a table created in the same file pass', async () => {
  const sql = `CREATE TABLE invoices (id bigint PRIMARY KEY, order_id bigint, total int);
ALTER TABLE invoices ADD CONSTRAINT invoices_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE invoices ADD CONSTRAINT invoices_total CHECK (total >= 0);`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});

test('UNIQUE and plain columns are not this rule', async () => {
  const sql = `ALTER TABLE orders ADD CONSTRAINT u UNIQUE USING INDEX orders_number_idx;
ALTER TABLE orders ADD COLUMN note text DEFAULT '';`;
  assert.deepEqual(await hitsOf(rule, sql), []);
});
