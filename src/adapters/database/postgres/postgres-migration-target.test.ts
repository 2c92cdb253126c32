import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { isCutoverError } from '../../../core/errors.ts';
import { startTestPostgres } from '../../../../test/helpers/postgres.ts';
import type { TestPostgres } from '../../../../test/helpers/postgres.ts';
import {
  migration,
  OPTIONS,
  runMigrationTargetContract,
} from '../../../../test/contract/migration-target.ts';
import { openPostgresMigrationTarget } from './postgres-migration-target.ts';
import { MIGRATION_LOCK_KEY } from './postgres-apply.ts';

let server: TestPostgres;
let counter = 0;

before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
});

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

runMigrationTargetContract({
  dialect: 'postgres',
  nonTransactionalSql:
    '-- cutover:transaction off\nCREATE INDEX CONCURRENTLY items_id_idx ON items (id);\nCREATE INDEX CONCURRENTLY items_id2_idx ON items ((id + 1));\n',
  async createDatabase() {
    counter += 1;
    const name = `app_${process.pid}_${counter}`;
    const url = await server.createDatabase(name);
    return {
      open: () => openPostgresMigrationTarget(url, { pgBinDir: server.binDir }),
      query,
      async holdLock(table: string) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query('BEGIN');
        await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        return async () => {
          await client.query('COMMIT');
          await client.end();
        };
      },
      async drop() {
        await query(server.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await query(
          server.adminUrl,
          `DROP DATABASE IF EXISTS "cutover_shadow_template_${name}" WITH (FORCE)`,
        );
      },
    };
  },
  async tables(_db, url) {
    const rows = await query(
      url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    return rows.map((row) => String(row.tablename));
  },
});

describe('PostgreSQL migration target', () => {
  it('refuses an unreachable server with CUTOVER_ERR_DATABASE_UNREACHABLE, without the password', async () => {
    const url = server
      .url('postgres')
      .replace('postgres@', 'postgres:s3cret@')
      .replace(/:\d+\//, ':1/');
    const error = await openPostgresMigrationTarget(url).then(
      () => assert.fail('expected a refusal'),
      (caught: unknown) => caught,
    );
    assert.ok(isCutoverError(error));
    assert.equal(error.code, 'CUTOVER_ERR_DATABASE_UNREACHABLE');
    assert.ok(!error.message.includes('s3cret'), error.message);
  });

  it('holds the advisory lock while it applies, and releases it', async () => {
    const url = await server.createDatabase(`lockcheck_${process.pid}`);
    const target = await openPostgresMigrationTarget(url);
    const slow = migration('0001_slow.sql', 'SELECT pg_sleep(0.5);\nCREATE TABLE t (id int);\n');
    const applying = target.apply([slow], OPTIONS);
    const held = async () =>
      (
        await query(
          url,
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
             AND ((classid::bigint << 32) | objid::bigint) = ${MIGRATION_LOCK_KEY}::bigint`,
        )
      )[0]?.n;
    const deadline = Date.now() + 5_000;
    let seen = 0;
    while (seen === 0 && Date.now() < deadline) {
      seen = Number(await held());
      if (seen === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(seen, 1);
    await applying;
    assert.equal(Number(await held()), 0);
    await target.close();
  });

  it('drops a shadow abandoned by a runner killed before its drop, and keeps live ones', async () => {
    const name = `orphans_${process.pid}`;
    const url = await server.createDatabase(name);
    const target = await openPostgresMigrationTarget(url);
    await target.apply([migration('0001_a.sql', 'CREATE TABLE a (id int);\n')], OPTIONS);
    // Left by a dead runner: no creation time of a live check (made an hour ago), no session.
    const abandoned = `cutover_shadow_${name}_deadbeef`;
    await query(server.adminUrl, `CREATE DATABASE ${abandoned}`);
    await query(
      server.adminUrl,
      `COMMENT ON DATABASE ${abandoned} IS 'cutover shadow created ${new Date(Date.now() - 3_600_000).toISOString()}'`,
    );
    const current = await target.createShadow();
    const next = await target.createShadow();
    const names = (
      await query(
        server.adminUrl,
        `SELECT datname FROM pg_database WHERE datname LIKE 'cutover_shadow_${name}_%'`,
      )
    ).map((row) => String(row.datname));
    assert.ok(!names.includes(abandoned), `the abandoned shadow is gone: ${names.join(', ')}`);
    // The shadow of a check still running (created just now) is kept.
    assert.equal(names.filter((each) => each !== `cutover_shadow_template_${name}`).length, 2);
    await current.drop();
    await next.drop();
    await target.close();
  });

  it('prepares the template after a migration, so the next shadow clones it as it is', async () => {
    const name = `prepcheck_${process.pid}`;
    const url = await server.createDatabase(name);
    const target = await openPostgresMigrationTarget(url);
    const template = `cutover_shadow_template_${name}`;
    const oid = async () =>
      (await query(server.adminUrl, `SELECT oid FROM pg_database WHERE datname = '${template}'`))[0]
        ?.oid;
    await target.apply([migration('0001_a.sql', 'CREATE TABLE a (id int);\n')], OPTIONS);
    assert.equal(await target.prepareShadow?.(), true, 'no template yet: built');
    assert.equal(await target.prepareShadow?.(), false, 'unchanged: nothing to do');
    await target.apply([migration('0002_b.sql', 'ALTER TABLE a ADD COLUMN b text;\n')], OPTIONS);
    assert.equal(await target.prepareShadow?.(), true, 'a migration changed the schema: rebuilt');
    const prepared = await oid();
    const shadow = await target.createShadow();
    assert.equal(await oid(), prepared, 'the shadow cloned the prepared template');
    const columns = await query(
      shadow.target.url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'a' ORDER BY 1",
    );
    assert.deepEqual(
      columns.map((row) => row.column_name),
      ['b', 'id'],
    );
    await shadow.drop();
    await target.close();
  });

  it('keeps one template per database and rebuilds it only when the schema changed', async () => {
    const name = `tmplcheck_${process.pid}`;
    const url = await server.createDatabase(name);
    const target = await openPostgresMigrationTarget(url);
    await target.apply([migration('0001_a.sql', 'CREATE TABLE a (id int);\n')], OPTIONS);
    await query(url, 'INSERT INTO a VALUES (1)');
    const template = `cutover_shadow_template_${name}`;
    const oid = async () =>
      (await query(server.adminUrl, `SELECT oid FROM pg_database WHERE datname = '${template}'`))[0]
        ?.oid;
    const first = await target.createShadow();
    const firstOid = await oid();
    // Schema only: the live rows are not copied.
    assert.deepEqual(await query(first.target.url, 'SELECT * FROM a'), []);
    const second = await target.createShadow();
    assert.equal(await oid(), firstOid, 'an unchanged schema reuses the template');
    await query(url, 'ALTER TABLE a ADD COLUMN b text');
    const third = await target.createShadow();
    assert.notEqual(await oid(), firstOid, 'a changed schema rebuilds the template');
    const columns = await query(
      third.target.url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'a' ORDER BY 1",
    );
    assert.deepEqual(
      columns.map((row) => row.column_name),
      ['b', 'id'],
    );
    for (const shadow of [first, second, third]) await shadow.drop();
    const left = await query(
      server.adminUrl,
      `SELECT datname FROM pg_database WHERE datname LIKE 'cutover_shadow_${name}%'`,
    );
    assert.deepEqual(left, []);
    await target.close();
  });
});
