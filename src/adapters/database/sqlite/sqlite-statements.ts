// Runs a migration's SQL one statement at a time, letting SQLite itself find where each statement
// ends (sqlite3_prepare's tail, exposed as StatementSync.sourceSQL): trigger bodies, strings and
// comments are split exactly as SQLite reads them. Each statement is prepared only after the
// previous one ran, so it may use what the previous one created.
import type { DatabaseSync } from 'node:sqlite';

export interface StatementFailure extends Error {
  /** 1-based line where the failing statement starts. */
  migrationLine?: number;
  /** How many statements ran before the failing one. */
  statementsRan?: number;
  statement?: string;
}

/** Runs every statement of `sql`; `each` may wrap each one (for lock waits). Returns the count. */
export async function runStatements(
  db: DatabaseSync,
  sql: string,
  each: (run: () => void) => Promise<void> = (run) => Promise.resolve(run()),
): Promise<number> {
  let rest = sql;
  let offset = 0;
  let count = 0;
  while (!isBlank(rest)) {
    const leading = rest.length - rest.trimStart().length;
    const line = sql.slice(0, offset + leading).split('\n').length;
    let consumed = '';
    try {
      await each(() => {
        const statement = db.prepare(rest);
        consumed = statement.sourceSQL;
        statement.run();
      });
    } catch (error) {
      throw Object.assign(error as Error, {
        migrationLine: line,
        statementsRan: count,
        statement: (consumed === '' ? firstLine(rest) : consumed).trim(),
      }) as StatementFailure;
    }
    if (consumed === '') throw new Error('SQLite consumed no text: is the statement complete?');
    rest = rest.slice(consumed.length);
    offset += consumed.length;
    count += 1;
  }
  return count;
}

function firstLine(text: string): string {
  return text.trimStart().split('\n')[0] ?? '';
}

/** Only whitespace and comments left. */
function isBlank(sql: string): boolean {
  return (
    sql
      .replace(/--[^\n]*/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim() === ''
  );
}
