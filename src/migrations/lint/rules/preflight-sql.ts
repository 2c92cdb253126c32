// Building blocks of the data rules' pre-flight queries: identifiers quoted as PostgreSQL
// needs them, and pieces of a statement's own text (an index expression, a USING clause, a
// partial index's WHERE) cut out with the parser's scanner, which knows strings and comments.
import { scanSync } from 'libpg-query';
import type { RangeVar } from 'libpg-query';

export interface SqlToken {
  /** The token as written. */
  readonly text: string;
  /** Upper-cased, for keyword comparisons. */
  readonly upper: string;
  /** Parenthesis depth around the token (a `(` and its `)` are at the outer depth). */
  readonly depth: number;
  /** Byte offsets into the statement's UTF-8 text. */
  readonly start: number;
  readonly end: number;
}

export interface ScannedSql {
  readonly tokens: readonly SqlToken[];
  /** The text from the start of token `from` to the end of token `to`, both included. */
  slice(from: number, to: number): string;
}

/** Scans `sql` (the parser's module must be loaded, as it is once the engine has parsed). */
export function scanSql(sql: string): ScannedSql {
  const bytes = Buffer.from(sql, 'utf8');
  let depth = 0;
  const tokens = scanSync(sql).tokens.map((token): SqlToken => {
    if (token.text === ')') depth -= 1;
    const scanned = {
      text: token.text,
      upper: token.text.toUpperCase(),
      depth,
      start: token.start,
      end: token.end,
    };
    if (token.text === '(') depth += 1;
    return scanned;
  });
  return {
    tokens,
    slice(from: number, to: number): string {
      const first = tokens[from];
      const last = tokens[to];
      if (first === undefined || last === undefined || to < from) return '';
      return bytes.subarray(first.start, last.end).toString('utf8');
    },
  };
}

// Reserved words a table or column is often named after; they must be quoted.
const RESERVED = new Set([
  'user',
  'order',
  'group',
  'table',
  'select',
  'where',
  'from',
  'limit',
  'check',
  'default',
  'primary',
  'unique',
  'references',
  'column',
  'end',
  'all',
  'asc',
  'desc',
  'to',
  'offset',
  'window',
  'grant',
  'analyse',
  'analyze',
]);

/** An identifier as PostgreSQL reads it back unchanged (names from the parser are case-folded). */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name)
    ? name
    : `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, each part quoted when needed. */
export function quotedTable(relation: RangeVar | undefined): string {
  const name = quoteIdent(relation?.relname ?? '');
  return relation?.schemaname === undefined ? name : `${quoteIdent(relation.schemaname)}.${name}`;
}
