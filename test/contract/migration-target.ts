// The contract every MigrationTarget adapter runs (STYLE.md: a small contract, many
// implementations). Each adapter's test file calls `runMigrationTargetContract` with a fixture
// that makes fresh, empty databases of its dialect.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isCutoverError } from '../../src/core/errors.ts';
import { parseMigrationHeader } from '../../src/core/migration-file.ts';
import type { MigrationFile } from '../../src/core/migration-file.ts';
import type { ApplyOptions, DatabaseDialect, MigrationTarget } from '../../src/ports/database.ts';

export interface FixtureDatabase {
  /** Opens a new handle on the database (another connection, same data). */
  open(): Promise<MigrationTarget>;
  /** Runs SQL outside cutover on `url` (a shadow's too), for setup and checks; returns rows. */
  query(url: string, sql: string): Promise<Record<string, unknown>[]>;
  /**
   * Takes, in another connection, a lock that blocks DDL on `table` (Postgres: ACCESS
   * EXCLUSIVE; SQLite: the write lock); resolves once held, with the function that releases it.
   */
  holdLock(table: string): Promise<() => Promise<void>>;
  drop(): Promise<void>;
}

export interface MigrationTargetFixture {
  readonly dialect: DatabaseDialect;
  createDatabase(): Promise<FixtureDatabase>;
  /** Tables of `url`'s database, sorted (the history table included). */
  tables(db: FixtureDatabase, url: string): Promise<string[]>;
  /** A non-transactional migration this dialect runs one statement at a time. */
  readonly nonTransactionalSql: string;
}

export function migration(name: string, sql: string): MigrationFile {
  const header = parseMigrationHeader(sql);
  return {
    name,
    path: `migrations/${name}`,
    ...header,
    sql,
    checksum: createHash('sha256').update(sql).digest('hex'),
  };
}

export const OPTIONS: ApplyOptions = {
  release: 'v1',
  lockTimeoutMs: 2_000,
  statementTimeoutMs: 30_000,
  retries: 3,
};

const CREATE_ITEMS = migration('0001_items.sql', 'CREATE TABLE items (id integer PRIMARY KEY);\n');
const ADD_NAME = migration('0002_name.sql', 'ALTER TABLE items ADD COLUMN name text;\n');
const SEED = migration(
  '0003_seed.sql',
  "INSERT INTO items (id, name) VALUES (1, 'a');\nINSERT INTO items (id, name) VALUES (2, 'b');\n",
);
const ADD_NOTES = migration('0004_notes.sql', 'CREATE TABLE notes (id integer PRIMARY KEY);\n');

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail('expected a rejection');
}

export function runMigrationTargetContract(fixture: MigrationTargetFixture): void {
  describe(`MigrationTarget contract (${fixture.dialect})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    async function fresh(): Promise<{ db: FixtureDatabase; target: MigrationTarget }> {
      const db = await fixture.createDatabase();
      const target = await db.open();
      cleanups.push(async () => {
        await target.close();
        await db.drop();
      });
      return { db, target };
    }

    it('applies pending files in name order, records them, and skips applied ones', async () => {
      const { db, target } = await fresh();
      assert.equal(target.dialect, fixture.dialect);
      assert.deepEqual(await target.applied(), []);
      const events: string[] = [];
      const added = await target.apply([SEED, CREATE_ITEMS, ADD_NAME], {
        ...OPTIONS,
        onProgress: (event) => events.push(`${event.file}:${event.state}`),
      });
      assert.deepEqual(
        added.map((row) => row.name),
        ['0001_items.sql', '0002_name.sql', '0003_seed.sql'],
      );
      assert.deepEqual(events, [
        '0001_items.sql:started',
        '0001_items.sql:applied',
        '0002_name.sql:started',
        '0002_name.sql:applied',
        '0003_seed.sql:started',
        '0003_seed.sql:applied',
      ]);
      const rows = await target.applied();
      assert.deepEqual(
        rows.map((row) => [row.name, row.checksum, row.phase, row.release]),
        [
          ['0001_items.sql', CREATE_ITEMS.checksum, 'expand', 'v1'],
          ['0002_name.sql', ADD_NAME.checksum, 'expand', 'v1'],
          ['0003_seed.sql', SEED.checksum, 'expand', 'v1'],
        ],
      );
      assert.ok(rows.every((row) => !Number.isNaN(Date.parse(row.appliedAt))));
      assert.equal((await db.query(target.url, 'SELECT id FROM items')).length, 2);

      // Applying again changes nothing; a new file is the only one applied.
      assert.deepEqual(await target.apply([CREATE_ITEMS, ADD_NAME, SEED], OPTIONS), []);
      const later = await target.apply([CREATE_ITEMS, ADD_NAME, SEED, ADD_NOTES], {
        ...OPTIONS,
        release: 'v2',
      });
      assert.deepEqual(
        later.map((row) => [row.name, row.release]),
        [['0004_notes.sql', 'v2']],
      );
      assert.equal((await db.query(target.url, 'SELECT id FROM items')).length, 2);
      // Another handle sees the same history.
      const other = await db.open();
      assert.equal((await other.applied()).length, 4);
      await other.close();
    });

    it('refuses, before applying anything, when an applied file changed', async () => {
      const { db, target } = await fresh();
      await target.apply([CREATE_ITEMS], OPTIONS);
      const edited = migration('0001_items.sql', 'CREATE TABLE items (id bigint PRIMARY KEY);\n');
      const error = await failure(target.apply([edited, ADD_NOTES], OPTIONS));
      assert.ok(isCutoverError(error), String(error));
      assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_CHECKSUM');
      assert.match(error.message, /0001_items\.sql/);
      assert.deepEqual(
        (await target.applied()).map((row) => row.name),
        ['0001_items.sql'],
      );
      assert.ok(!(await fixture.tables(db, target.url)).includes('notes'));
    });

    it('rolls back a failing file whole, names it and its line, and keeps earlier files', async () => {
      const { db, target } = await fresh();
      const broken = migration(
        '0002_broken.sql',
        'CREATE TABLE tags (id integer PRIMARY KEY);\n\nINSERT INTO no_such_table VALUES (1);\n',
      );
      const error = await failure(target.apply([CREATE_ITEMS, broken, ADD_NOTES], OPTIONS));
      assert.ok(isCutoverError(error), String(error));
      assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_FAILED');
      assert.match(error.message, /0002_broken\.sql/);
      assert.match(error.message, /no_such_table/);
      assert.match(error.message, /line 3/);
      assert.deepEqual(
        (await target.applied()).map((row) => row.name),
        ['0001_items.sql'],
      );
      const tables = await fixture.tables(db, target.url);
      assert.ok(tables.includes('items'));
      assert.ok(!tables.includes('tags'), 'the failing file was rolled back whole');
      assert.ok(!tables.includes('notes'), 'nothing after the failing file ran');
    });

    it('serializes two concurrent runs: each file applied exactly once', async () => {
      const { db, target } = await fresh();
      const second = await db.open();
      const files = [CREATE_ITEMS, ADD_NAME, SEED, ADD_NOTES];
      const [a, b] = await Promise.all([
        target.apply(files, OPTIONS),
        second.apply(files, { ...OPTIONS, release: 'v2' }),
      ]);
      assert.deepEqual(
        [...a, ...b].map((row) => row.name).sort(),
        files.map((file) => file.name),
      );
      assert.equal((await target.applied()).length, 4);
      assert.equal((await db.query(target.url, 'SELECT id FROM items')).length, 2);
      await second.close();
    });

    it('retries a file whose lock is held, then applies it once the lock is free', async () => {
      const { db, target } = await fresh();
      await target.apply([CREATE_ITEMS], OPTIONS);
      const release = await db.holdLock('items');
      const started = Date.now();
      const releasing = delay(1_000).then(release);
      // 150 ms waits, then pauses of 200, 400, 800 ms: the lock is free within the retries.
      const added = await target.apply([CREATE_ITEMS, ADD_NAME], {
        ...OPTIONS,
        lockTimeoutMs: 150,
        retries: 4,
      });
      await releasing;
      assert.deepEqual(
        added.map((row) => row.name),
        ['0002_name.sql'],
      );
      assert.ok(Date.now() - started >= 900, 'it waited for the lock');
      await db.query(target.url, 'SELECT name FROM items');
    });

    it('fails naming the file and the lock wait when the lock outlasts every retry', async () => {
      const { db, target } = await fresh();
      await target.apply([CREATE_ITEMS], OPTIONS);
      const release = await db.holdLock('items');
      try {
        const error = await failure(
          target.apply([ADD_NAME], { ...OPTIONS, lockTimeoutMs: 100, retries: 1 }),
        );
        assert.ok(isCutoverError(error), String(error));
        assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_FAILED');
        assert.match(error.message, /0002_name\.sql/);
        assert.match(error.message, /lock/);
        assert.match(error.message, /2 attempts/);
      } finally {
        await release();
      }
      assert.deepEqual(
        (await target.applied()).map((row) => row.name),
        ['0001_items.sql'],
      );
      // Once the lock is free the same file applies.
      assert.equal((await target.apply([ADD_NAME], OPTIONS)).length, 1);
    });

    it('makes shadows independent of the live database, with the same history', async () => {
      const { db, target } = await fresh();
      await target.apply([CREATE_ITEMS, ADD_NAME], OPTIONS);
      const shadow = await target.createShadow();
      try {
        assert.notEqual(shadow.target.url, target.url);
        assert.equal(shadow.target.dialect, fixture.dialect);
        assert.deepEqual(await shadow.target.applied(), await target.applied());
        const added = await shadow.target.apply([CREATE_ITEMS, ADD_NAME, ADD_NOTES], OPTIONS);
        assert.deepEqual(
          added.map((row) => row.name),
          ['0004_notes.sql'],
        );
        assert.ok((await fixture.tables(db, shadow.target.url)).includes('notes'));
        assert.ok(!(await fixture.tables(db, target.url)).includes('notes'));
        assert.equal((await target.applied()).length, 2);
      } finally {
        await shadow.drop();
        await shadow.drop();
      }

      // A later shadow follows the live database's newer schema and history.
      await target.apply([CREATE_ITEMS, ADD_NAME, SEED, ADD_NOTES], OPTIONS);
      const next = await target.createShadow();
      try {
        assert.ok((await fixture.tables(db, next.target.url)).includes('notes'));
        assert.deepEqual(
          (await next.target.applied()).map((row) => row.name),
          (await target.applied()).map((row) => row.name),
        );
        assert.deepEqual(await next.target.apply([ADD_NOTES], OPTIONS), []);
      } finally {
        await next.drop();
      }
    });

    it('runs a non-transactional file one statement at a time', async () => {
      const { db, target } = await fresh();
      const file = migration('0002_outside.sql', fixture.nonTransactionalSql);
      assert.equal(file.transactional, false);
      const added = await target.apply([CREATE_ITEMS, file], OPTIONS);
      assert.deepEqual(
        added.map((row) => row.name),
        ['0001_items.sql', '0002_outside.sql'],
      );
      assert.ok((await fixture.tables(db, target.url)).includes('items'));
    });

    it('names the statements that ran when a non-transactional file fails half-way', async () => {
      const { db, target } = await fresh();
      const file = migration(
        '0002_half.sql',
        '-- cutover:transaction off\nCREATE TABLE first_half (id integer);\nCREATE TABLE second_half (id integer);\nINSERT INTO missing_table VALUES (1);\n',
      );
      const error = await failure(target.apply([CREATE_ITEMS, file], OPTIONS));
      assert.ok(isCutoverError(error), String(error));
      assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_FAILED');
      assert.match(error.message, /0002_half\.sql/);
      assert.match(error.message, /statements 1-2 (of 3 )?already ran/);
      assert.match(error.message, /line 4/);
      const tables = await fixture.tables(db, target.url);
      assert.ok(tables.includes('first_half') && tables.includes('second_half'));
      assert.deepEqual(
        (await target.applied()).map((row) => row.name),
        ['0001_items.sql'],
      );
    });
  });
}
