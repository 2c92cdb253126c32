import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingsOf, flaggedLines } from './findings-of.ts';
import { rule } from './redefine-view-function.ts';

void test('flags CREATE OR REPLACE VIEW/FUNCTION and dropping a view or function', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE OR REPLACE VIEW active_users AS SELECT id, email FROM users;'),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE OR REPLACE FUNCTION order_total(o bigint) RETURNS numeric\nLANGUAGE sql AS $$ SELECT sum(price) FROM items WHERE order_id = o $$;',
    ),
    [1],
  );
  assert.deepEqual(
    await flaggedLines(rule, 'DROP VIEW active_users;\nDROP FUNCTION f(int);'),
    [1, 2],
  );
  const [finding] = await findingsOf(rule, 'CREATE OR REPLACE VIEW v AS SELECT 1;');
  assert.match(finding?.fix ?? '', /without OR REPLACE/);
});

void test('does not flag a new view or function, one created in the file, or contract files', async () => {
  assert.deepEqual(
    await flaggedLines(rule, 'CREATE VIEW paid_orders AS SELECT * FROM orders WHERE paid;'),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\nCREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;',
    ),
    [],
  );
  assert.deepEqual(
    await flaggedLines(
      rule,
      '-- cutover:phase contract\nCREATE OR REPLACE VIEW v AS SELECT 2;\nDROP VIEW w;',
    ),
    [],
  );
  assert.deepEqual(await flaggedLines(rule, 'DROP INDEX i;'), []);
});
