-- The writes v6's code performs, with example values (`migrations.compat.writes`): before a
-- deployment touches the database, cutover runs them one by one on the migrated shadow copy,
-- inside a transaction it rolls back. v6 records where each order came from.
INSERT INTO orders (customer, items, total_cents, created_at, note, channel)
VALUES ('guest', '["mug"]', 1200, '2026-11-26T12:00:00.000Z', 'gift wrap', 'web');
