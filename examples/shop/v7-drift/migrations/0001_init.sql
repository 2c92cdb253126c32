-- The shop's first schema: the catalog and the orders.
CREATE TABLE products (
  id text PRIMARY KEY,
  name text NOT NULL,
  price_cents integer NOT NULL
);

INSERT INTO products (id, name, price_cents) VALUES
  ('mug', 'Blue-green mug', 1200),
  ('shirt', 'Zero-downtime shirt', 2500),
  ('sticker', 'Rollback sticker', 300);

-- `id integer PRIMARY KEY` is SQLite's rowid: each insert gets the next id.
CREATE TABLE orders (
  id integer PRIMARY KEY,
  customer text NOT NULL,
  items text NOT NULL,
  total_cents integer NOT NULL,
  created_at text NOT NULL
);
