-- The writes v2's code performs, with example values (`migrations.compat.writes`): before a
-- deployment touches the database, cutover runs them one by one on the migrated shadow copy,
-- inside a transaction it rolls back. v2 places orders with a note, and never sets a channel:
-- on v6's shadow, whose trigger requires one, this INSERT fails.
INSERT INTO orders (customer, items, total_cents, created_at, note)
VALUES ('guest', '["mug"]', 1200, '2026-11-26T12:00:00.000Z', 'gift wrap');
