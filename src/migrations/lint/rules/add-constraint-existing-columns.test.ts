import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './add-constraint-existing-columns.ts';

void test('flags new CHECK, UNIQUE, FOREIGN KEY and PRIMARY KEY constraints on existing columns', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0);'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);'),
    [1],
  );
  // NOT VALID skips the existing rows, but the serving version's new writes are checked.
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
    ),
    [1],
  );
  assert.deepEqual(await flaggedLines(rule, 'ALTER TABLE tags ADD PRIMARY KEY (name);'), [1]);
  const [finding] = await findingsOf(rule, 'ALTER TABLE orders ADD CONSTRAINT c CHECK (qty > 0);');
  assert.match(finding?.message ?? '', /NOT VALID only skips/);
});

void test('does not flag constraints on columns this file adds, USING INDEX, VALIDATE or new tables', async () => {
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ADD COLUMN coupon_id bigint;\nALTER TABLE orders ADD CONSTRAINT orders_coupon_fk FOREIGN KEY (coupon_id) REFERENCES coupons (id) NOT VALID;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE orders ADD COLUMN qty2 int, ADD CONSTRAINT q CHECK (qty2 >= 0);',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE TABLE t (a int);\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'ALTER TABLE orders ADD COLUMN total int CHECK (total >= 0);'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase contract\nALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;',
    ),
    [],
  );
});
