-- The writes v1's code performs, with example values (`migrations.compat.writes`): before a
-- deployment touches the database, cutover runs them one by one on the migrated shadow copy,
-- inside a transaction it rolls back. v1 places orders naming only the columns it knows.
INSERT INTO orders (customer, items, total_cents, created_at)
VALUES ('guest', '["mug"]', 1200, '2026-11-26T12:00:00.000Z');
