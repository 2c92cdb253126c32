// The SQLite migration runner. The runner lock (a lock file) keeps other cutover runners out for
// the whole run; each transactional file runs in BEGIN IMMEDIATE .. COMMIT with its history row.
// Waiting for the app's writers is polled without blocking the event loop (the busy timeout
// would stall the daemon): a wait past lockTimeout is one failed attempt, retried after
// 200 ms * 2^attempt. statementTimeout is not enforced: node:sqlite cannot interrupt a statement.
import type { DatabaseSync } from 'node:sqlite';
import { setTimeout as delay } from 'node:timers/promises';
import { CutoverError, isCutoverError } from '../../../core/errors.ts';
import type { MigrationFile } from '../../../core/migration-file.ts';
import type { AppliedMigration, ApplyOptions } from '../../../ports/database.ts';
import { HISTORY_DDL, hasHistoryTable, insertHistory, readHistory } from './sqlite-history.ts';
import { acquireRunnerLock } from './sqlite-runner-lock.ts';
import { runStatements } from './sqlite-statements.ts';
import { pendingFiles } from '../../../migrations/migration-dir.ts';
import type { StatementFailure } from './sqlite-statements.ts';

const RETRY_BASE_MS = 200;
const POLL_MS = 10;
/** Inside a held write lock the busy timeout only covers COMMIT waiting for readers. */
const MAX_IN_TRANSACTION_BUSY_MS = 1_000;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

export async function applySqliteMigrations(
  db: DatabaseSync,
  dbPath: string,
  files: readonly MigrationFile[],
  options: ApplyOptions,
): Promise<AppliedMigration[]> {
  const release = await acquireRunnerLock(dbPath);
  try {
    db.exec('PRAGMA busy_timeout = 0');
    if (!hasHistoryTable(db)) {
      await waitingForLock(() => db.exec(HISTORY_DDL), options, 'cutover_migrations');
    }
    const pending = pendingFiles(files, readHistory(db));
    const added: AppliedMigration[] = [];
    for (const file of pending) {
      options.onProgress?.({ file: file.name, state: 'started' });
      const row = file.transactional
        ? await applyInTransaction(db, file, options)
        : await applyStatementByStatement(db, file, options);
      added.push(row);
      options.onProgress?.({ file: file.name, state: 'applied' });
    }
    return added;
  } finally {
    await release();
  }
}

async function applyInTransaction(
  db: DatabaseSync,
  file: MigrationFile,
  options: ApplyOptions,
): Promise<AppliedMigration> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await pollForLock(() => db.exec('BEGIN IMMEDIATE'), options.lockTimeoutMs);
    } catch (error) {
      if (isBusy(error) && attempt < options.retries) {
        await delay(RETRY_BASE_MS * 2 ** attempt);
        continue;
      }
      throw failure(file, error, options, attempt, 'nothing of it was applied');
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${inTransactionBusyMs(options)}`);
      await runStatements(db, file.sql);
      const row = insertHistory(db, { ...file, release: options.release });
      db.exec('COMMIT');
      return row;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      // A busy COMMIT (the app's readers, rollback-journal mode) rolled the file back whole:
      // it is retried like a lock wait at BEGIN.
      if (isBusy(error) && attempt < options.retries) {
        db.exec('PRAGMA busy_timeout = 0');
        await delay(RETRY_BASE_MS * 2 ** attempt);
        continue;
      }
      throw failure(file, error, options, attempt, 'it was rolled back; nothing of it was applied');
    } finally {
      db.exec('PRAGMA busy_timeout = 0');
    }
  }
}

async function applyStatementByStatement(
  db: DatabaseSync,
  file: MigrationFile,
  options: ApplyOptions,
): Promise<AppliedMigration> {
  try {
    await runStatements(db, file.sql, (run) => waitingForLock(run, options, file.name));
    return await waitingForLock(
      () => insertHistory(db, { ...file, release: options.release }),
      options,
      file.name,
    );
  } catch (error) {
    const ran = (error as StatementFailure).statementsRan ?? 0;
    const state =
      ran === 0
        ? 'no statement of it ran'
        : `statements 1-${ran} already ran and stay applied; the file is not recorded as applied`;
    throw failure(file, error, options, options.retries, state);
  }
}

/** Runs `run`, waiting out the app's write locks: lockTimeout per attempt, then retries. */
async function waitingForLock<T>(run: () => T, options: ApplyOptions, what: string): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await pollForLock(run, options.lockTimeoutMs);
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (attempt >= options.retries) {
        throw Object.assign(error as Error, { lockAttempts: attempt + 1, lockWhat: what });
      }
      await delay(RETRY_BASE_MS * 2 ** attempt);
    }
  }
}

async function pollForLock<T>(run: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return run();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    await delay(POLL_MS);
  }
}

function inTransactionBusyMs(options: ApplyOptions): number {
  return Math.min(Math.max(options.lockTimeoutMs, 0), MAX_IN_TRANSACTION_BUSY_MS);
}

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return (
    typeof code === 'number' && ((code & 0xff) === SQLITE_BUSY || (code & 0xff) === SQLITE_LOCKED)
  );
}

function failure(
  file: MigrationFile,
  error: unknown,
  options: ApplyOptions,
  attempt: number,
  state: string,
): CutoverError {
  if (isCutoverError(error)) return error;
  const info = error as StatementFailure & { lockAttempts?: number };
  const line = info.migrationLine;
  const where = line === undefined ? '' : ` at line ${line}`;
  const shown = info.statement === undefined ? '' : ` (${clip(info.statement)})`;
  const details = {
    file: file.name,
    path: file.path,
    ...(line === undefined ? {} : { line }),
    ...(info.statement === undefined ? {} : { statement: info.statement.slice(0, 200) }),
  };
  if (isBusy(error)) {
    const attempts = info.lockAttempts ?? attempt + 1;
    return new CutoverError(
      'CUTOVER_ERR_MIGRATION_FAILED',
      `${file.name}${where}${shown} waited for the database write lock longer than lockTimeout (${options.lockTimeoutMs} ms) on ${attempts} attempts: another connection holds a write transaction; ${state}. Retry when the app is quieter, or raise migrations.lockTimeout or migrations.retries`,
      details,
    );
  }
  return new CutoverError(
    'CUTOVER_ERR_MIGRATION_FAILED',
    `${file.name} failed${where}${shown}: ${(error as Error).message}; ${state}`,
    details,
  );
}

function clip(statement: string): string {
  const flat = statement.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
