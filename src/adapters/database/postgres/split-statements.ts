// Splits a migration's SQL into its statements with the real PostgreSQL parser (libpg-query), so
// a `cutover:transaction off` file runs one statement at a time, exactly as PostgreSQL reads it.
import { loadModule, parseSync } from 'libpg-query';

export interface SqlStatement {
  readonly sql: string;
  /** 1-based line of the statement's first character in the file. */
  readonly line: number;
}

let loaded: Promise<void> | undefined;

/** The statements of `sql` in order; throws the parser's message on invalid SQL. */
export async function splitStatements(sql: string): Promise<SqlStatement[]> {
  loaded ??= loadModule();
  await loaded;
  const result = parseSync(sql) as {
    stmts?: { stmt_location?: number; stmt_len?: number }[];
  };
  // stmt_location and stmt_len are byte offsets into the UTF-8 text; stmt_len 0 means "to the end".
  const bytes = Buffer.from(sql, 'utf8');
  const statements: SqlStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end =
      raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : start + raw.stmt_len;
    const text = bytes.subarray(start, end).toString('utf8');
    const leading = text.length - text.trimStart().length;
    const before = bytes.subarray(0, start).toString('utf8') + text.slice(0, leading);
    const trimmed = text.trim();
    if (trimmed === '') continue;
    statements.push({ sql: trimmed, line: before.split('\n').length });
  }
  return statements;
}
