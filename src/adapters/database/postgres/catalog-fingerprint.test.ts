// The shadow template's freshness fingerprint against a real PostgreSQL server: it changes on
// any DDL and on a new migration history row, never on data changes, VACUUM, ANALYZE or
// TRUNCATE; and the shadow rebuilds its template exactly when it changes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { startTestPostgres } from '../../../../test/helpers/postgres.ts';
import type { TestPostgres } from '../../../../test/helpers/postgres.ts';
import { readCatalogFingerprint } from './catalog-fingerprint.ts';
import { connect } from './pg-connection.ts';
import { createShadowDatabase, dropShadowDatabase } from './postgres-shadow.ts';

let server: TestPostgres;
let databases = 0;

before(async () => {
  server = await startTestPostgres();
});

after(async () => {
  await server.stop();
});

const SCHEMA = `
CREATE TABLE products (id bigserial PRIMARY KEY, code varchar(64) NOT NULL, price numeric(10, 2));
CREATE TABLE cutover_migrations (name text PRIMARY KEY, checksum text NOT NULL,
  phase text NOT NULL, applied_at timestamptz NOT NULL, release text NOT NULL);
INSERT INTO cutover_migrations VALUES ('001.sql', 'abc', 'expand', '2026-11-26T10:00:00Z', 'v1');
CREATE FUNCTION price_floor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.price := greatest(NEW.price, 0); RETURN NEW; END $$;
`;

async function withDatabase(run: (client: pg.Client, url: string) => Promise<void>): Promise<void> {
  databases += 1;
  const url = await server.createDatabase(`fingerprint_${process.pid}_${databases}`);
  const client = await connect(url);
  try {
    await client.query(SCHEMA);
    await run(client, url);
  } finally {
    await client.end();
  }
}

async function fingerprintOf(client: pg.Client): Promise<string> {
  return (await readCatalogFingerprint(client, 'cutover_shadow_template_none')).fingerprint;
}

void test('the fingerprint changes on DDL and on a new history row', async () => {
  await withDatabase(async (client) => {
    const changes = [
      'ALTER TABLE products ADD COLUMN note text',
      'CREATE INDEX products_code ON products (code)',
      'CREATE TRIGGER products_floor BEFORE INSERT ON products FOR EACH ROW EXECUTE FUNCTION price_floor()',
      `CREATE OR REPLACE FUNCTION price_floor() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN NEW.price := greatest(NEW.price, 1); RETURN NEW; END $$`,
      "INSERT INTO cutover_migrations VALUES ('002.sql', 'def', 'expand', now(), 'v2')",
      'ALTER TABLE products ALTER COLUMN code TYPE varchar(80)',
      'ALTER TABLE products ALTER COLUMN price SET DEFAULT 0',
      'ALTER TABLE products ADD CONSTRAINT price_positive CHECK (price >= 0) NOT VALID',
      'ALTER TABLE products VALIDATE CONSTRAINT price_positive',
      "CREATE TYPE mood AS ENUM ('happy')",
      "ALTER TYPE mood ADD VALUE 'sad'",
      'CREATE VIEW cheap AS SELECT id FROM products WHERE price < 10',
      'CREATE OR REPLACE VIEW cheap AS SELECT id FROM products WHERE price < 5',
      "COMMENT ON TABLE products IS 'what we sell'",
      'CREATE SCHEMA billing',
      'CREATE TABLE billing.invoices (id int)',
      'ALTER TABLE products RENAME COLUMN note TO remark',
      'ALTER TABLE products DROP COLUMN remark',
    ];
    let previous = await fingerprintOf(client);
    assert.match(previous, /^cutover:catalog:[0-9a-f]{64}$/);
    for (const sql of changes) {
      await client.query(sql);
      const now = await fingerprintOf(client);
      assert.notEqual(now, previous, `unchanged after: ${sql}`);
      previous = now;
    }
  });
});

void test('the fingerprint stays the same on data changes, VACUUM, ANALYZE and TRUNCATE', async () => {
  await withDatabase(async (client) => {
    const before = await fingerprintOf(client);
    const dataChanges = [
      "INSERT INTO products (code, price) SELECT 'p' || g, g FROM generate_series(1, 2000) AS g",
      'UPDATE products SET price = price + 1',
      'DELETE FROM products WHERE id % 2 = 0',
      "SELECT nextval('products_id_seq')",
      'ANALYZE products',
      'VACUUM products',
      'VACUUM FULL products',
      'TRUNCATE products',
      'CREATE TEMPORARY TABLE scratch (id int)',
    ];
    for (const sql of dataChanges) {
      await client.query(sql);
      assert.equal(await fingerprintOf(client), before, `changed after: ${sql}`);
    }
  });
});

void test('the shadow rebuilds its template exactly when the fingerprint changed', async () => {
  await withDatabase(async (client, url) => {
    const shadows: string[] = [];
    const create = async (): Promise<boolean> => {
      const shadow = await createShadowDatabase(url, server.binDir);
      shadows.push(shadow.name);
      return shadow.templateRefreshed;
    };
    try {
      assert.equal(await create(), true, 'the first shadow builds the template');
      assert.equal(await create(), false, 'a second one clones it as is');
      await client.query("INSERT INTO products (code, price) VALUES ('a', 1)");
      assert.equal(await create(), false, 'data changes keep the template');
      await client.query('ALTER TABLE products ADD COLUMN note text');
      assert.equal(await create(), true, 'DDL rebuilds it');
      await client.query(
        "INSERT INTO cutover_migrations VALUES ('002.sql', 'def', 'expand', now(), 'v2')",
      );
      assert.equal(await create(), true, 'a new history row rebuilds it');
      // The rebuilt template holds the new column and the history rows (never the data).
      const last = shadows[shadows.length - 1] ?? '';
      const copy = await connect(url.replace(/\/[^/]*$/, `/${last}`));
      try {
        const columns = await copy.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns
            WHERE table_name = 'products' ORDER BY ordinal_position`,
        );
        assert.deepEqual(
          columns.rows.map((row) => row.column_name),
          ['id', 'code', 'price', 'note'],
        );
        const history = await copy.query<{ name: string }>(
          'SELECT name FROM cutover_migrations ORDER BY name',
        );
        assert.deepEqual(
          history.rows.map((row) => row.name),
          ['001.sql', '002.sql'],
        );
        assert.equal((await copy.query('SELECT 1 FROM products')).rowCount, 0);
      } finally {
        await copy.end();
      }
    } finally {
      for (const name of shadows) await dropShadowDatabase(url, name);
    }
  });
});
