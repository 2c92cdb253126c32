// The SQLite MigrationTarget (ports/database.ts): one connection (node:sqlite) per target.
// A shadow is `VACUUM INTO` a file in a fresh temporary folder: schema and data, consistent
// as of one read transaction, never touching the live file.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseDatabaseUrl } from '../../../core/database-url.ts';
import { CutoverError } from '../../../core/errors.ts';
import type { MigrationFile } from '../../../core/migration-file.ts';
import type {
  AppliedMigration,
  ApplyOptions,
  MigrationTarget,
  Shadow,
} from '../../../ports/database.ts';
import { applySqliteMigrations } from './sqlite-apply.ts';
import { readHistory } from './sqlite-history.ts';

/** How long a shadow copy waits for a writer that blocks its read (rollback-journal mode). */
const SHADOW_BUSY_MS = 5_000;

/** Opens `sqlite:<path>` or `file:<path>` (relative paths from the working directory). */
export function openSqliteMigrationTarget(url: string): Promise<MigrationTarget> {
  const parsed = parseDatabaseUrl(url);
  if (parsed instanceof Error || parsed.dialect !== 'sqlite') {
    const reason = parsed instanceof Error ? parsed.message : 'it is a PostgreSQL URL';
    return Promise.reject(
      new CutoverError(
        'CUTOVER_ERR_DATABASE_UNREACHABLE',
        `"${url}" is not a SQLite URL: ${reason}`,
      ),
    );
  }
  const path = resolve(parsed.path);
  if (!existsSync(dirname(path))) {
    return Promise.reject(
      new CutoverError(
        'CUTOVER_ERR_DATABASE_UNREACHABLE',
        `the folder of the SQLite database ${path} does not exist: create it, or fix database.url`,
        { path },
      ),
    );
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: 0 });
  } catch (error) {
    return Promise.reject(
      new CutoverError(
        'CUTOVER_ERR_DATABASE_UNREACHABLE',
        `could not open the SQLite database ${path}: ${(error as Error).message}`,
        { path },
      ),
    );
  }
  return Promise.resolve(createTarget(url, path, db));
}

function createTarget(url: string, path: string, db: DatabaseSync): MigrationTarget {
  let closed = false;
  const open = () => {
    if (closed) throw new Error('the migration target is closed');
  };
  return {
    dialect: 'sqlite',
    url,
    applied(): Promise<readonly AppliedMigration[]> {
      open();
      return Promise.resolve(readHistory(db));
    },
    apply(files: readonly MigrationFile[], options: ApplyOptions) {
      open();
      return applySqliteMigrations(db, path, files, options);
    },
    async createShadow(): Promise<Shadow> {
      open();
      const dir = await mkdtemp(join(tmpdir(), 'cutover-shadow-'));
      const copy = join(dir, basename(path));
      try {
        db.exec(`PRAGMA busy_timeout = ${SHADOW_BUSY_MS}`);
        try {
          db.prepare('VACUUM INTO ?').run(copy);
        } finally {
          db.exec('PRAGMA busy_timeout = 0');
        }
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw new CutoverError(
          'CUTOVER_ERR_MIGRATION_FAILED',
          `could not copy ${path} for a shadow: ${(error as Error).message}`,
          { path },
        );
      }
      const target = await openSqliteMigrationTarget(`sqlite:${copy}`);
      let dropped: Promise<void> | undefined;
      return {
        target,
        drop() {
          dropped ??= (async () => {
            await target.close();
            await rm(dir, { recursive: true, force: true });
          })();
          // A failed drop may be tried again; a done or running one is shared.
          dropped.catch(() => {
            dropped = undefined;
          });
          return dropped;
        },
      };
    },
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        db.close();
      }
      return Promise.resolve();
    },
  };
}
