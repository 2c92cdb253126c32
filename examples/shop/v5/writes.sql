-- The writes v5's code performs, with example values (`migrations.compat.writes`): before a
-- deployment touches the database, cutover runs them one by one on the migrated shadow copy,
-- inside a transaction it rolls back. v5's code calls the customer column customer_name.
INSERT INTO orders (customer_name, items, total_cents, created_at, note)
VALUES ('guest', '["mug"]', 1200, '2026-11-26T12:00:00.000Z', 'gift wrap');
