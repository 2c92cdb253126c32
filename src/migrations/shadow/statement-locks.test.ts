import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeStatementLocks } from './statement-locks.ts';

void test('names the lock each kind of statement takes, strongest subcommand first', async () => {
  const locks = await describeStatementLocks(`
    ALTER TABLE public.orders ADD COLUMN note text;
    CREATE INDEX CONCURRENTLY orders_note ON orders (note);
    CREATE INDEX orders_total ON orders (total_cents);
    ALTER TABLE orders ADD CONSTRAINT orders_product FOREIGN KEY (product_id) REFERENCES products (id) NOT VALID;
    ALTER TABLE orders VALIDATE CONSTRAINT orders_product;
    ALTER TABLE orders VALIDATE CONSTRAINT orders_product, ADD COLUMN channel text;
    UPDATE orders SET note = '' WHERE note IS NULL;
    CREATE TABLE refunds (id bigint PRIMARY KEY);
    DROP INDEX CONCURRENTLY orders_note;
    DROP TABLE old_orders;
    VACUUM FULL orders;
    CREATE TRIGGER orders_audit BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();
    ALTER TABLE orders RENAME COLUMN customer TO customer_name;
    LISTEN orders;
  `);
  assert.deepEqual(
    locks.map((entry) => [entry.kind, entry.table, entry.lock]),
    [
      ['AlterTableStmt', 'public.orders', 'ACCESS EXCLUSIVE'],
      ['IndexStmt', 'orders', 'SHARE UPDATE EXCLUSIVE'],
      ['IndexStmt', 'orders', 'SHARE'],
      ['AlterTableStmt', 'orders', 'SHARE ROW EXCLUSIVE'],
      ['AlterTableStmt', 'orders', 'SHARE UPDATE EXCLUSIVE'],
      ['AlterTableStmt', 'orders', 'ACCESS EXCLUSIVE'],
      ['UpdateStmt', 'orders', 'ROW EXCLUSIVE'],
      ['CreateStmt', null, 'none'],
      ['DropStmt', 'orders_note', 'SHARE UPDATE EXCLUSIVE'],
      ['DropStmt', 'old_orders', 'ACCESS EXCLUSIVE'],
      ['VacuumStmt', 'orders', 'ACCESS EXCLUSIVE'],
      ['CreateTrigStmt', 'orders', 'SHARE ROW EXCLUSIVE'],
      ['RenameStmt', 'orders', 'ACCESS EXCLUSIVE'],
      ['ListenStmt', null, null],
    ],
  );
  assert.deepEqual(
    locks.map((entry) => entry.index),
    locks.map((_, index) => index),
  );
});

void test('SQL the PostgreSQL parser rejects (SQLite syntax) yields no lock entries', async () => {
  const locks = await describeStatementLocks(
    "CREATE TRIGGER t BEFORE INSERT ON orders WHEN NEW.channel IS NULL BEGIN SELECT RAISE(ABORT, 'x'); END;",
  );
  assert.deepEqual(locks, []);
});
