// The SQL inside a PL/pgSQL `DO` block, so a DDL statement wrapped in `DO $$ BEGIN IF ... THEN
// ALTER TABLE ... END IF; END $$` (the idempotent-migration pattern) is linted like any other.
// The body is parsed with libpg-query's PL/pgSQL parser; plain SQL statements and `EXECUTE` of
// a single string literal are read, other dynamic SQL cannot be seen.
import { parsePlPgSQLSync, parseSync } from 'libpg-query';

export interface NestedStatement {
  readonly kind: string;
  readonly node: Readonly<Record<string, unknown>>;
  readonly sql: string;
}

interface DoArgument {
  readonly DefElem?: { readonly defname?: string; readonly arg?: { String?: { sval?: string } } };
}

/** The statements a `DO` statement's body runs (none for other statements or languages). */
export function doBlockStatements(kind: string, node: Readonly<Record<string, unknown>>) {
  if (kind !== 'DoStmt') return [];
  const args = (node.args ?? []) as readonly DoArgument[];
  const option = (name: string) =>
    args.find((arg) => arg.DefElem?.defname === name)?.DefElem?.arg?.String?.sval;
  const body = option('as');
  const language = option('language') ?? 'plpgsql';
  if (body === undefined || language.toLowerCase() !== 'plpgsql') return [];
  let tree: unknown;
  try {
    const tag = '$cutover_do$';
    tree = parsePlPgSQLSync(
      `CREATE FUNCTION cutover_do() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}`,
    );
  } catch {
    return [];
  }
  const queries: string[] = [];
  collectQueries(tree, queries);
  return queries.flatMap(parseNested);
}

function collectQueries(value: unknown, queries: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectQueries(item, queries);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  const exec = record.PLpgSQL_stmt_execsql as { sqlstmt?: { PLpgSQL_expr?: { query?: string } } };
  const query = exec?.sqlstmt?.PLpgSQL_expr?.query;
  if (query !== undefined) queries.push(query);
  const dynamic = record.PLpgSQL_stmt_dynexecute as {
    query?: { PLpgSQL_expr?: { query?: string } };
  };
  const literal = /^'((?:[^']|'')*)'$/.exec(dynamic?.query?.PLpgSQL_expr?.query?.trim() ?? '');
  if (literal?.[1] !== undefined) queries.push(literal[1].replaceAll("''", "'"));
  for (const child of Object.values(record)) collectQueries(child, queries);
}

function parseNested(sql: string): NestedStatement[] {
  try {
    const stmts = (parseSync(sql) as { stmts?: { stmt?: Record<string, unknown> }[] }).stmts ?? [];
    return stmts.flatMap((raw) => {
      const entry = Object.entries(raw.stmt ?? {})[0];
      if (entry === undefined) return [];
      return [
        { kind: entry[0], node: (entry[1] ?? {}) as Record<string, unknown>, sql: sql.trim() },
      ];
    });
  } catch {
    return [];
  }
}
