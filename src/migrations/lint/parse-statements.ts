// Splits a migration's text into LintStatements with the real PostgreSQL parser (libpg-query,
// WebAssembly). Each RawStmt carries `stmt_location`/`stmt_len` as BYTE offsets into the UTF-8
// text (absent location = 0, absent length = to the end), so positions are mapped on the bytes,
// never on the JavaScript string. SQLite files that the parser cannot read fall back to a plain
// split on `;` (split-sql-text.ts); those statements get the kind `Unparsed`.
import { loadModule, parseSync } from 'libpg-query';
import type { Dialect, LintStatement } from './lint-types.ts';
import { doBlockStatements } from './do-block-statements.ts';
import { codeEnd } from './sql-code-end.ts';
import { splitSqlText } from './split-sql-text.ts';

/** The kind of a statement the parser could not read (SQLite-only syntax): rules match text. */
export const UNPARSED_KIND = 'Unparsed';

let moduleLoaded: Promise<void> | undefined;

/** Loads the parser's WebAssembly module once per process. */
export async function loadSqlParser(): Promise<void> {
  moduleLoaded ??= loadModule();
  await moduleLoaded;
}

/** A parse failure: the 1-based line it points at and the parser's own message. */
export class SqlParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.name = 'SqlParseError';
    this.line = line;
  }
}

interface RawStatement {
  readonly stmt?: Record<string, unknown>;
  readonly stmt_location?: number;
  readonly stmt_len?: number;
}

const NEWLINE = 0x0a;

/** A statement with the line its text ends on, for suppressions at its end. */
export interface ParsedStatement extends LintStatement {
  readonly endLine: number;
}

/**
 * Parses `text` (call `loadSqlParser()` first). Throws SqlParseError for Postgres text the parser
 * refuses; for SQLite, statements it refuses become `Unparsed` ones instead.
 */
export function parseStatements(text: string, dialect: Dialect): ParsedStatement[] {
  let statements: ParsedStatement[];
  try {
    statements = parseWhole(text);
  } catch (error) {
    if (!(error instanceof SqlParseError) || dialect !== 'sqlite') throw error;
    statements = parsePieces(text);
  }
  return withDoBlocks(statements);
}

/**
 * Each `DO` block is followed by the statements its body runs, at the block's own lines: a
 * finding points at the block, and a suppression above the block covers them.
 */
function withDoBlocks(statements: readonly ParsedStatement[]): ParsedStatement[] {
  if (!statements.some((statement) => statement.kind === 'DoStmt')) return [...statements];
  const all: ParsedStatement[] = [];
  for (const statement of statements) {
    all.push({ ...statement, index: all.length });
    for (const nested of doBlockStatements(statement.kind, statement.node)) {
      all.push({ ...statement, ...nested, index: all.length });
    }
  }
  return all;
}

function parseWhole(text: string): ParsedStatement[] {
  const bytes = Buffer.from(text, 'utf8');
  // An empty or comment-only file has no statement (the parser calls it an error).
  if (skipBlanksAndComments(bytes, 0, bytes.length) === bytes.length) return [];
  let raws: readonly RawStatement[];
  try {
    raws = (parseSync(text) as { stmts?: readonly RawStatement[] }).stmts ?? [];
  } catch (error) {
    throw toParseError(error, bytes);
  }
  const lines = createLineIndex(bytes);
  const statements: ParsedStatement[] = [];
  for (const raw of raws) {
    const location = raw.stmt_location ?? 0;
    // The last statement has no length: it runs to the end, trailing comments included.
    const stop =
      raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : location + raw.stmt_len;
    const first = skipBlanksAndComments(bytes, location, stop);
    const end = codeEnd(bytes, first, stop);
    const [kind, node] = Object.entries(raw.stmt ?? {})[0] ?? ['Unknown', {}];
    statements.push({
      index: statements.length,
      sql: stripSemicolon(bytes.subarray(first, end).toString('utf8')),
      line: lines(first),
      endLine: lines(Math.max(first, end - 1)),
      kind,
      node: (node ?? {}) as Readonly<Record<string, unknown>>,
    });
  }
  return statements;
}

/** SQLite fallback: split on `;`, then let the parser read each piece it can. */
function parsePieces(text: string): ParsedStatement[] {
  const statements: ParsedStatement[] = [];
  for (const piece of splitSqlText(text)) {
    // latin1 gives one byte per UTF-16 unit, so byte offsets here are string offsets.
    const units = Buffer.from(text.slice(piece.start, piece.end), 'latin1');
    const first = skipBlanksAndComments(units, 0, units.length);
    const end = codeEnd(units, first, units.length);
    const sql = stripSemicolon(text.slice(piece.start + first, piece.start + end));
    const parsed = tryParseOne(sql);
    statements.push({
      index: statements.length,
      sql,
      line: countNewlines(text, piece.start + first) + 1,
      endLine: countNewlines(text, piece.start + Math.max(first, end - 1)) + 1,
      kind: parsed?.[0] ?? UNPARSED_KIND,
      node: parsed?.[1] ?? {},
    });
  }
  return statements;
}

function tryParseOne(sql: string): [string, Readonly<Record<string, unknown>>] | undefined {
  try {
    const raws = (parseSync(sql) as { stmts?: readonly RawStatement[] }).stmts ?? [];
    if (raws.length !== 1) return undefined;
    const entry = Object.entries(raws[0]?.stmt ?? {})[0];
    return entry === undefined
      ? undefined
      : [entry[0], (entry[1] ?? {}) as Record<string, unknown>];
  } catch {
    return undefined;
  }
}

/** The parser's cursor is a 1-based byte position; it maps to the line of that byte. */
function toParseError(error: unknown, bytes: Buffer): SqlParseError {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } })
    .sqlDetails;
  const message = details?.message ?? (error instanceof Error ? error.message : String(error));
  const cursor = details?.cursorPosition;
  const position = cursor === undefined || cursor < 1 ? 0 : Math.min(cursor - 1, bytes.length);
  return new SqlParseError(createLineIndex(bytes)(position), message);
}

/** Returns a function from a byte offset to its 1-based line. */
function createLineIndex(bytes: Buffer): (offset: number) => number {
  const starts: number[] = [0];
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) {
    starts.push(i + 1);
  }
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}

/**
 * The offset of the first byte in [from, to) that is not whitespace or inside a comment
 * (`--` to the end of the line, `/* ... *\/` nested as PostgreSQL nests them). Comment
 * delimiters are ASCII, so walking bytes is safe in UTF-8.
 */
function skipBlanksAndComments(bytes: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const byte = bytes[i] ?? 0;
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c) {
      i += 1;
    } else if (byte === 0x2d && bytes[i + 1] === 0x2d) {
      const newline = bytes.indexOf(NEWLINE, i);
      i = newline === -1 || newline >= to ? to : newline + 1;
    } else if (byte === 0x2f && bytes[i + 1] === 0x2a) {
      let depth = 1;
      i += 2;
      while (i < to && depth > 0) {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
          depth += 1;
          i += 2;
        } else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f) {
          depth -= 1;
          i += 2;
        } else i += 1;
      }
    } else break;
  }
  return Math.min(i, to);
}

function stripSemicolon(sql: string): string {
  const trimmed = sql.trim();
  return trimmed.endsWith(';') ? trimmed.slice(0, -1).trimEnd() : trimmed;
}
