-- v6 records where each order came from. Each statement passes the linter: a nullable column,
-- and a new trigger, which drops, renames and retypes nothing. But the trigger rejects every
-- order without a channel, and v2, serving every user until the flip, never sets one: its
-- orders would fail the moment this ran in production. Only the shadow check catches it: v2's
-- own checks, run against a migrated copy of the database, fail to place an order.
ALTER TABLE orders ADD COLUMN channel text;

CREATE TRIGGER orders_require_channel
BEFORE INSERT ON orders
WHEN NEW.channel IS NULL
BEGIN
  SELECT RAISE(ABORT, 'orders.channel is required');
END;
