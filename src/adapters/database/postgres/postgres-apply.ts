// The PostgreSQL migration runner: one dedicated connection holding a session advisory lock for
// the whole run; each transactional file in BEGIN .. COMMIT with SET LOCAL lock_timeout and
// statement_timeout, its history row in the same transaction; a lock timeout (SQLSTATE 55P03,
// lock_not_available) rolls the file back and retries it after 200 ms * 2^attempt.
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { CutoverError, isCutoverError } from '../../../core/errors.ts';
import type { MigrationFile } from '../../../core/migration-file.ts';
import type { AppliedMigration, ApplyOptions } from '../../../ports/database.ts';
import { connect, sqlState } from './pg-connection.ts';
import { ensureHistoryTable, insertHistory, readHistory } from './postgres-history.ts';
import { splitStatements } from './split-statements.ts';
import { pendingFiles } from '../../../migrations/migration-dir.ts';

/** A fixed 64-bit key (the first 8 bytes of sha256('cutover:migrations')) for pg_advisory_lock. */
export const MIGRATION_LOCK_KEY = createHash('sha256')
  .update('cutover:migrations')
  .digest()
  .readBigInt64BE(0)
  .toString();

const LOCK_NOT_AVAILABLE = '55P03';
const RETRY_BASE_MS = 200;
const MAX_STATEMENT_CHARS = 200;

export async function applyPostgresMigrations(
  url: string,
  files: readonly MigrationFile[],
  options: ApplyOptions,
): Promise<AppliedMigration[]> {
  const client = await connect(url);
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      const table = await ensureHistoryTable(client);
      const history = await readHistory(client, table);
      const pending = pendingFiles(files, history);
      const added: AppliedMigration[] = [];
      for (const file of pending) {
        options.onProgress?.({ file: file.name, state: 'started' });
        const row = file.transactional
          ? await applyInTransaction(client, table, file, options)
          : await applyStatementByStatement(client, table, file, options);
        added.push(row);
        options.onProgress?.({ file: file.name, state: 'applied' });
      }
      return added;
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function applyInTransaction(
  client: pg.Client,
  table: string,
  file: MigrationFile,
  options: ApplyOptions,
): Promise<AppliedMigration> {
  for (let attempt = 0; ; attempt += 1) {
    await client.query('BEGIN');
    try {
      await client.query(
        `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
        [`${options.lockTimeoutMs}ms`, `${options.statementTimeoutMs}ms`],
      );
      try {
        await client.query(file.sql);
      } catch (error) {
        throw Object.assign(error as Error, { migrationLine: lineOf(file.sql, error) });
      }
      const row = await insertHistory(client, table, { ...file, release: options.release });
      await client.query('COMMIT');
      return row;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (sqlState(error) === LOCK_NOT_AVAILABLE && attempt < options.retries) {
        await delay(RETRY_BASE_MS * 2 ** attempt);
        continue;
      }
      throw failure(file, error, options, attempt, 'it was rolled back; nothing of it was applied');
    }
  }
}

async function applyStatementByStatement(
  client: pg.Client,
  table: string,
  file: MigrationFile,
  options: ApplyOptions,
): Promise<AppliedMigration> {
  let statements;
  try {
    statements = await splitStatements(file.sql);
  } catch (error) {
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_FAILED',
      `${file.name} is not valid SQL: ${(error as Error).message}; nothing of it was applied`,
      { file: file.name },
    );
  }
  await client.query(
    `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`,
    [`${options.lockTimeoutMs}ms`, `${options.statementTimeoutMs}ms`],
  );
  try {
    for (const [index, statement] of statements.entries()) {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await client.query(statement.sql);
          break;
        } catch (error) {
          if (sqlState(error) === LOCK_NOT_AVAILABLE && attempt < options.retries) {
            await delay(RETRY_BASE_MS * 2 ** attempt);
            continue;
          }
          const ran =
            index === 0
              ? 'no statement of it ran'
              : `statements 1-${index} of ${statements.length} already ran and stay applied; the file is not recorded as applied`;
          throw failure(
            file,
            Object.assign(error as Error, { migrationLine: statement.line }),
            options,
            attempt,
            ran,
            statement.sql,
          );
        }
      }
    }
    return await insertHistory(client, table, { ...file, release: options.release });
  } finally {
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
  }
}

function failure(
  file: MigrationFile,
  error: unknown,
  options: ApplyOptions,
  attempt: number,
  state: string,
  statement?: string,
): CutoverError {
  if (isCutoverError(error)) return error;
  const line = (error as { migrationLine?: number }).migrationLine;
  const where = line === undefined ? '' : ` at line ${line}`;
  const code = sqlState(error);
  const details = {
    file: file.name,
    path: file.path,
    ...(line === undefined ? {} : { line }),
    ...(code === undefined ? {} : { sqlState: code }),
    ...(statement === undefined ? {} : { statement: statement.slice(0, MAX_STATEMENT_CHARS) }),
  };
  const shown = statement === undefined ? '' : ` (${clip(statement)})`;
  if (code === LOCK_NOT_AVAILABLE) {
    return new CutoverError(
      'CUTOVER_ERR_MIGRATION_FAILED',
      `${file.name}${where}${shown} waited for a lock longer than lock_timeout (${options.lockTimeoutMs} ms) on ${attempt + 1} attempts: another session holds a lock on a table it changes (see pg_locks); ${state}. Retry when the table is quieter, or raise migrations.lockTimeout or migrations.retries`,
      details,
    );
  }
  const message = (error as Error).message;
  return new CutoverError(
    'CUTOVER_ERR_MIGRATION_FAILED',
    `${file.name} failed${where}${shown}: ${message}${code === undefined ? '' : ` (SQLSTATE ${code})`}; ${state}`,
    details,
  );
}

function clip(statement: string): string {
  const flat = statement.replace(/\s+/g, ' ');
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** The line of a server error's `position` (1-based, in characters) within the file's text. */
function lineOf(sql: string, error: unknown): number | undefined {
  const position = Number((error as { position?: unknown }).position);
  if (!Number.isInteger(position) || position < 1) return undefined;
  return sql.slice(0, position - 1).split('\n').length;
}
