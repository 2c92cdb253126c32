import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseDatabaseUrl } from '../../../core/database-url.ts';
import { isCutoverError } from '../../../core/errors.ts';
import {
  migration,
  OPTIONS,
  runMigrationTargetContract,
} from '../../../../test/contract/migration-target.ts';
import { openSqliteMigrationTarget } from './sqlite-migration-target.ts';

function pathOf(url: string): string {
  const parsed = parseDatabaseUrl(url);
  if (parsed instanceof Error || parsed.dialect !== 'sqlite') throw new Error(`not sqlite: ${url}`);
  return parsed.path;
}

function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = new DatabaseSync(pathOf(url));
  try {
    return Promise.resolve(db.prepare(sql).all() as Record<string, unknown>[]);
  } finally {
    db.close();
  }
}

runMigrationTargetContract({
  dialect: 'sqlite',
  nonTransactionalSql:
    '-- cutover:transaction off\nPRAGMA foreign_keys = OFF;\nCREATE TABLE extra (id integer);\nCREATE TRIGGER extra_check BEFORE INSERT ON extra BEGIN SELECT 1; SELECT 2; END;\nPRAGMA foreign_keys = ON;\n',
  async createDatabase() {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-sqlite-target-'));
    const url = `sqlite:${join(dir, 'app.db')}`;
    return {
      open: () => openSqliteMigrationTarget(url),
      query,
      holdLock() {
        const db = new DatabaseSync(pathOf(url));
        db.exec('BEGIN IMMEDIATE');
        return Promise.resolve(() => {
          db.exec('COMMIT');
          db.close();
          return Promise.resolve();
        });
      },
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  },
  async tables(_db, url) {
    const rows = await query(
      url,
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    );
    return rows.map((row) => String(row.name));
  },
});

describe('SQLite migration target', () => {
  it('refuses a URL whose folder does not exist, and a PostgreSQL URL', async () => {
    for (const url of ['sqlite:/no/such/folder/app.db', 'postgres://localhost/app']) {
      const error = await openSqliteMigrationTarget(url).then(
        () => assert.fail('expected a refusal'),
        (caught: unknown) => caught,
      );
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_DATABASE_UNREACHABLE');
    }
  });

  it('copies the data into a shadow, and drop removes its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-sqlite-shadow-'));
    try {
      const target = await openSqliteMigrationTarget(`file:${join(dir, 'app.db')}`);
      await target.apply(
        [migration('0001_a.sql', 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (7);\n')],
        OPTIONS,
      );
      const shadow = await target.createShadow();
      const path = pathOf(shadow.target.url);
      assert.deepEqual(
        (await query(shadow.target.url, 'SELECT id FROM a')).map((row) => row.id),
        [7],
      );
      await shadow.drop();
      assert.equal(existsSync(path), false);
      await target.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes over the runner lock of a dead runner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutover-sqlite-lock-'));
    try {
      const path = join(dir, 'app.db');
      // A pid far above any pid_max is never alive.
      await writeFile(`${path}.cutover-lock`, '2147483646\n');
      const target = await openSqliteMigrationTarget(`sqlite:${path}`);
      const added = await target.apply(
        [migration('0001_a.sql', 'CREATE TABLE a (id int);\n')],
        OPTIONS,
      );
      assert.equal(added.length, 1);
      assert.equal(existsSync(`${path}.cutover-lock`), false);
      await target.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
