// A release's writes on the migrated shadow (`migrations.compat.writes`; QUALITY.md section 3:
// "also run the old version's write checks against it inside rolled-back transactions"). The
// file holds the INSERT, UPDATE and DELETE statements the release performs; each runs in turn
// inside one transaction that is always rolled back, so the shadow keeps no trace of them, and
// the first one that fails is the check's failure, with its line and the database's own error.
import { readFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { parseDatabaseUrl } from '../../core/database-url.ts';
import type { DatabaseDialect } from '../../ports/database.ts';
import { loadSqlParser, parseStatements, UNPARSED_KIND } from '../lint/parse-statements.ts';
import type { CheckOutcome, CompatCheckRunner } from './compat-check.ts';

const WRITE_KINDS = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** SQLite syntax the PostgreSQL parser cannot read, still a write (`INSERT OR IGNORE`, ...). */
const SQLITE_WRITE_START = /^(?:insert|replace|update|delete|with)\b/i;
export const WRITES_STATEMENT_TIMEOUT_MS = 10_000;
/** SQLite: how long a write waits for the shadow's write lock (the smoke instance may hold it). */
const SQLITE_BUSY_MS = 5_000;

export interface WriteStatement {
  readonly sql: string;
  /** 1-based line of the statement in the file. */
  readonly line: number;
  /** The table it writes, as written (`orders`, `shop.orders`); null when not readable. */
  readonly table: string | null;
}

export interface WritesFile {
  /** The file as shown in reports, relative to the release (`writes.sql`). */
  readonly name: string;
  readonly statements: readonly WriteStatement[];
}

/**
 * Reads and splits a writes file; refuses (naming the file, the line and what to do) a file
 * that does not parse or holds anything but INSERT, UPDATE, DELETE (or MERGE).
 */
export async function readWritesFile(
  path: string,
  name: string,
  dialect: DatabaseDialect,
): Promise<WritesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `cannot read ${name} (${code}): migrations.compat.writes names a SQL file in the release directory`,
      { cause: error },
    );
  }
  await loadSqlParser();
  let parsed;
  try {
    parsed = parseStatements(text, dialect);
  } catch (error) {
    const line = (error as { line?: number }).line;
    throw new Error(
      `${name}${line === undefined ? '' : `:${line}`} does not parse: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const statements: WriteStatement[] = [];
  for (const statement of parsed) {
    const write =
      WRITE_KINDS.has(statement.kind) ||
      (dialect === 'sqlite' &&
        statement.kind === UNPARSED_KIND &&
        SQLITE_WRITE_START.test(statement.sql));
    if (!write) {
      throw new Error(
        `${name}:${statement.line} is a ${describeKind(statement.kind)}: migrations.compat.writes holds only the INSERT, UPDATE and DELETE statements the release performs`,
      );
    }
    statements.push({ sql: statement.sql, line: statement.line, table: tableOf(statement.node) });
  }
  if (statements.length === 0) {
    throw new Error(
      `${name} holds no statement: list the INSERT, UPDATE and DELETE statements the release performs`,
    );
  }
  return { name, statements };
}

function describeKind(kind: string): string {
  if (kind === UNPARSED_KIND) return 'statement that is not a write';
  const words = kind.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2');
  return `${words.toUpperCase()} statement`;
}

function tableOf(node: Readonly<Record<string, unknown>>): string | null {
  const relation = node.relation as { schemaname?: string; relname?: string } | undefined;
  if (relation?.relname === undefined) return null;
  return relation.schemaname === undefined
    ? relation.relname
    : `${relation.schemaname}.${relation.relname}`;
}

export interface WritesCheckOptions {
  readonly file: WritesFile;
  readonly dialect: DatabaseDialect;
  readonly statementTimeoutMs?: number;
}

/** Runs the file's statements on the shadow in one transaction, always rolled back. */
export function createWritesCheck(options: WritesCheckOptions): CompatCheckRunner {
  return async (shadowUrl) => {
    const started = performance.now();
    const failure =
      options.dialect === 'postgres'
        ? await runOnPostgres(options, shadowUrl)
        : runOnSqlite(options, shadowUrl);
    const durationMs = performance.now() - started;
    const { file } = options;
    const outcome: CheckOutcome =
      failure === null
        ? {
            passed: true,
            checks: [
              {
                name: `its writes in ${file.name}`,
                passed: true,
                detail: `${file.statements.length} statements ran and were rolled back`,
                durationMs,
              },
            ],
          }
        : {
            passed: false,
            checks: [
              {
                name: `its write at ${file.name}:${failure.statement.line}`,
                passed: false,
                detail: `${firstLine(failure.statement.sql)}: ${failure.message}`,
                durationMs,
              },
            ],
          };
    return outcome;
  };
}

interface WriteFailure {
  readonly statement: WriteStatement;
  readonly message: string;
}

async function runOnPostgres(
  options: WritesCheckOptions,
  shadowUrl: string,
): Promise<WriteFailure | null> {
  const client = new pg.Client({ connectionString: shadowUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      const timeout = options.statementTimeoutMs ?? WRITES_STATEMENT_TIMEOUT_MS;
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeout))}`);
      for (const statement of options.file.statements) {
        try {
          await client.query(statement.sql);
        } catch (error) {
          return { statement, message: describePgError(error) };
        }
      }
      return null;
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

function describePgError(error: unknown): string {
  const pgError = error as { message?: string; detail?: string };
  const message = pgError.message ?? String(error);
  return pgError.detail === undefined ? message : `${message} (${pgError.detail})`;
}

function runOnSqlite(options: WritesCheckOptions, shadowUrl: string): WriteFailure | null {
  const parsed = parseDatabaseUrl(shadowUrl);
  if (parsed instanceof Error || parsed.dialect !== 'sqlite') {
    throw new Error(`the shadow's URL is not a SQLite URL: ${shadowUrl}`);
  }
  const db = new DatabaseSync(parsed.path, { timeout: SQLITE_BUSY_MS });
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const statement of options.file.statements) {
        try {
          db.prepare(statement.sql).run();
        } catch (error) {
          return { statement, message: error instanceof Error ? error.message : String(error) };
        }
      }
      return null;
    } finally {
      db.exec('ROLLBACK');
    }
  } finally {
    db.close();
  }
}

function firstLine(sql: string): string {
  const line = sql.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
