// The migration linter's engine (QUALITY.md section 3): parse a file into statements, run every
// rule of the registry that applies to its dialect and phase, apply inline suppressions, and
// report findings. Parse errors and unreadable files are tool errors (CutoverError, exit 2),
// never findings: a linter that cannot read a file must not call it clean.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CutoverError } from '../../core/errors.ts';
import { parseMigrationHeader } from '../../core/migration-file.ts';
import type { MigrationFile, MigrationHeader, MigrationPhase } from '../../core/migration-file.ts';
import { loadSqlParser, parseStatements, SqlParseError } from './parse-statements.ts';
import type { ParsedStatement } from './parse-statements.ts';
import { readSuppressions, suppressionLines } from './read-suppressions.ts';
import type { SuppressionComment } from './read-suppressions.ts';
import { createSchemaModel } from './schema-model.ts';
import type { MutableSchemaModel } from './schema-model.ts';
import { createdTables } from './sql-ast.ts';
import { RULE_IDS } from './lint-types.ts';
import type {
  Dialect,
  Finding,
  LintFileContext,
  LintResult,
  Rule,
  Suppression,
} from './lint-types.ts';
import { RULES } from './rules/index.ts';

/** The engine's own rule: a suppression without a reason or naming no known rule. */
export const INVALID_SUPPRESSION_RULE = 'invalid-suppression';

export interface LintOptions {
  /** Shown in findings; default `<sql>`. */
  readonly path?: string;
  /** Default: the file's `-- cutover:phase` header (expand when absent). */
  readonly phase?: MigrationPhase;
  /** Default: the file's `-- cutover:transaction` header (on when absent). */
  readonly transactional?: boolean;
  /** Default postgres. */
  readonly dialect?: Dialect;
  /** Tables created by pending migrations before this file (CREATE TABLEs of the file are added). */
  readonly newTables?: Iterable<string>;
  /** The file runs outside cutover's runner (`--outside-runner`). */
  readonly outsideRunner?: boolean;
  /** The rules to run; default the registry (rules/index.ts). */
  readonly rules?: readonly Rule[];
  /**
   * The migrations before the linted ones in their folder, in name order: read (never linted)
   * for the column types they declare. lintFiles and lintMigrations read them from the folder
   * of the first file when this is left out; lintSql then knows no earlier migration.
   */
  readonly earlier?: readonly EarlierMigration[];
}

/** A migration before the linted ones: its text, and its path for nothing but reference. */
export interface EarlierMigration {
  readonly path?: string;
  readonly sql: string;
}

/** Lints one migration's text. Throws CUTOVER_ERR_MIGRATION_PARSE when it cannot be read. */
export async function lintSql(text: string, options: LintOptions = {}): Promise<LintResult> {
  return (await lintText(text, options)).result;
}

export type LintFilesOptions = Omit<LintOptions, 'path' | 'phase' | 'transactional'>;

/**
 * Lints files as one run: each file's phase and transaction mode come from its header, and the
 * tables created by one file are new for the files after it (in file-name order).
 */
export async function lintFiles(
  paths: readonly string[],
  options: LintFilesOptions = {},
): Promise<LintResult> {
  const ordered = [...paths].sort((a, b) => compareNames(basename(a), basename(b)));
  const texts = await Promise.all(ordered.map(readMigration));
  return lintRun(
    ordered.map((path, index) => ({ path, sql: texts[index] ?? '' })),
    { ...options, earlier: options.earlier ?? (await earlierInFolder(ordered)) },
  );
}

/**
 * Lints the migrations of a folder (`cutover migrations lint --dir`): each file on its own, since
 * any of them may be applied already (a table created by one is not new for the next), but each
 * with the column types the files before it declare. The folder is read once: linear in its size.
 */
export async function lintFolder(
  paths: readonly string[],
  options: LintFilesOptions = {},
): Promise<LintResult> {
  const ordered = [...paths].sort((a, b) => compareNames(basename(a), basename(b)));
  const texts = await Promise.all(ordered.map(readMigration));
  await loadSqlParser();
  const schema = schemaOf(options.earlier ?? []);
  const findings: Finding[] = [];
  const suppressed: Suppression[] = [];
  let statements = 0;
  for (const [index, path] of ordered.entries()) {
    const linted = await lintText(texts[index] ?? '', { ...options, path }, schema);
    findings.push(...linted.result.findings);
    suppressed.push(...linted.result.suppressed);
    statements += linted.result.statements;
  }
  return { findings, suppressed, statements };
}

/**
 * Lints migrations already read (a release's MigrationFiles, in name order) as one run, so the
 * text linted is exactly the text whose checksum was taken. Phase and transaction mode come
 * from each file's header, as in lintFiles.
 */
export async function lintMigrations(
  files: readonly Pick<MigrationFile, 'path' | 'sql'>[],
  options: LintFilesOptions = {},
): Promise<LintResult> {
  const earlier = options.earlier ?? (await earlierInFolder(files.map((file) => file.path)));
  return lintRun(files, { ...options, earlier });
}

/**
 * The `*.sql` files of the first linted file's folder that sort before it (and are not linted
 * themselves): the migrations that built the schema the linted ones change. Read one at a time
 * (many lints at once must not run out of file descriptors); a file removed meanwhile is left
 * out, any other read error is a tool error: a model missing a file would judge differently.
 */
async function earlierInFolder(paths: readonly string[]): Promise<EarlierMigration[]> {
  const first = paths[0];
  if (first === undefined) return [];
  const dir = dirname(first);
  const linted = new Set(paths.map((path) => resolve(path)));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const before = names
    .filter((name) => name.endsWith('.sql') && compareNames(name, basename(first)) < 0)
    .filter((name) => !linted.has(resolve(dir, name)))
    .sort(compareNames);
  const earlier: EarlierMigration[] = [];
  for (const name of before) {
    const path = join(dir, name);
    try {
      earlier.push({ path, sql: await readFile(path, 'utf8') });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new CutoverError(
        'CUTOVER_ERR_MIGRATION_READ',
        `cannot read the earlier migration ${path} (the linter reads it for column types): ${String(error)}`,
        { path },
      );
    }
  }
  return earlier;
}

/** Parsed earlier migrations by text: `migrations lint --dir` reads each folder's files again per file. */
const earlierParsed = new Map<string, readonly ParsedStatement[]>();
const EARLIER_CACHE_FILES = 4096;
/** Statements that can change a column's type; a file without this word changes none. */
const TABLE_WORD = /table/i;

/** The schema model the earlier migrations build; a file the parser cannot read adds nothing. */
function schemaOf(earlier: readonly EarlierMigration[]): MutableSchemaModel {
  const model = createSchemaModel();
  for (const migration of earlier) {
    const text = migration.sql.startsWith('\uFEFF') ? migration.sql.slice(1) : migration.sql;
    if (!TABLE_WORD.test(text)) continue;
    let statements = earlierParsed.get(text);
    if (statements === undefined) {
      try {
        statements = parseStatements(text, 'postgres');
      } catch {
        statements = [];
      }
      if (earlierParsed.size >= EARLIER_CACHE_FILES) earlierParsed.clear();
      earlierParsed.set(text, statements);
    }
    for (const statement of statements) model.apply(statement);
  }
  return model;
}

async function lintRun(
  files: readonly Pick<MigrationFile, 'path' | 'sql'>[],
  options: LintFilesOptions,
): Promise<LintResult> {
  const newTables = new Set(options.newTables ?? []);
  const findings: Finding[] = [];
  const suppressed: Suppression[] = [];
  let statements = 0;
  await loadSqlParser();
  // One model for the run: each file sees what the earlier ones and the files before it made.
  const schema = schemaOf(options.earlier ?? []);
  for (const file of files) {
    const linted = await lintText(file.sql, { ...options, path: file.path, newTables }, schema);
    findings.push(...linted.result.findings);
    suppressed.push(...linted.result.suppressed);
    statements += linted.result.statements;
    for (const table of linted.created) newTables.add(table);
  }
  return { findings, suppressed, statements };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function readMigration(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_READ',
      `cannot read migration ${path}: ${reason}; check the path (or --dir)`,
      { path },
    );
  }
}

/** A finding with the index of its statement, until suppressions are applied. */
interface StatementFinding extends Finding {
  readonly index: number;
}

interface LintedText {
  readonly result: LintResult;
  /** Tables the text creates, for the files after it. */
  readonly created: readonly string[];
}

async function lintText(
  source: string,
  options: LintOptions,
  runSchema?: MutableSchemaModel,
): Promise<LintedText> {
  // A UTF-8 byte order mark (saved by some Windows editors) is not SQL; lines do not move.
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const path = options.path ?? '<sql>';
  const dialect = options.dialect ?? 'postgres';
  const header = readHeader(text, path);
  const phase = options.phase ?? header.phase;
  const rules = (options.rules ?? RULES).filter(
    (rule) => rule.dialects.includes(dialect) && !(phase === 'contract' && rule.allowedInContract),
  );
  await loadSqlParser();
  const statements = parse(text, dialect, path);
  const schema = runSchema ?? schemaOf(options.earlier ?? []);
  const base = {
    path,
    phase,
    transactional: options.transactional ?? header.transactional,
    dialect,
    statements,
    outsideRunner: options.outsideRunner ?? false,
    schema,
  };
  // Each statement sees the tables created before it: "new" means no reader in the serving version.
  const newTables = new Set(options.newTables ?? []);
  const hits: StatementFinding[] = [];
  let context: LintFileContext = { ...base, newTables: new Set(newTables) };
  for (const statement of statements) {
    // A fresh snapshot only when a table was created: rules may keep the set they were given.
    if (context.newTables.size !== newTables.size) {
      context = { ...base, newTables: new Set(newTables) };
    }
    for (const rule of rules) {
      for (const hit of rule.check(statement, context)) {
        hits.push({
          index: statement.index,
          rule: rule.id,
          severity: rule.severity,
          category: rule.category,
          path,
          line: statement.line,
          statement: statement.sql,
          message: hit.message,
          fix: hit.fix,
          ...(hit.preflight === undefined ? {} : { preflight: hit.preflight }),
        });
      }
    }
    for (const table of createdTables(statement)) newTables.add(table);
    schema.apply(statement);
  }
  const created = [...newTables].filter((table) => !new Set(options.newTables ?? []).has(table));
  return {
    result: applySuppressions(text, path, statements, hits, knownRuleIds(rules)),
    created,
  };
}

function readHeader(text: string, path: string): MigrationHeader {
  try {
    return parseMigrationHeader(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CutoverError('CUTOVER_ERR_MIGRATION_PARSE', `${path}: header ${message}`, { path });
  }
}

function parse(text: string, dialect: Dialect, path: string): ParsedStatement[] {
  try {
    return parseStatements(text, dialect);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_PARSE',
      `${path}:${error.line}: ${error.message}; fix the SQL (the PostgreSQL parser could not read it)`,
      { path, line: error.line },
    );
  }
}

function knownRuleIds(rules: readonly Rule[]): Set<string> {
  const ids = new Set<string>(Object.values(RULE_IDS).flat());
  for (const rule of RULES) ids.add(rule.id);
  for (const rule of rules) ids.add(rule.id);
  return ids;
}

/**
 * Drops the findings an inline `cutover:ignore` names (listing them as suppressed) and reports
 * each ignore comment that has no reason, names no known rule, or sits next to no statement.
 */
function applySuppressions(
  text: string,
  path: string,
  statements: readonly ParsedStatement[],
  hits: readonly StatementFinding[],
  known: ReadonlySet<string>,
): LintResult {
  const comments = readSuppressions(text);
  const lines = text.split('\n');
  const findings: Finding[] = [];
  const suppressed: Suppression[] = [];
  const valid = comments.filter((comment) => {
    const problem = suppressionProblem(comment, known);
    if (problem !== undefined) findings.push(invalidSuppression(path, comment, problem));
    return problem === undefined;
  });
  const attached = new Set<SuppressionComment>();
  const byStatement = new Map<number, SuppressionComment[]>();
  for (const statement of statements) {
    const span = suppressionLines(lines, statement.line, statement.endLine);
    const own = valid.filter((comment) => comment.line >= span.from && comment.line <= span.to);
    const above = own.filter((comment) => comment.line >= statement.line || comment.commentOnly);
    for (const comment of above) attached.add(comment);
    byStatement.set(statement.index, above);
  }
  for (const comment of valid) {
    if (!attached.has(comment)) {
      findings.push(
        invalidSuppression(
          path,
          comment,
          'it is not on or right above a statement (no blank line between), so it silences nothing',
        ),
      );
    }
  }
  for (const { index, ...hit } of hits) {
    const comment = byStatement.get(index)?.find((candidate) => candidate.rule === hit.rule);
    if (comment === undefined) findings.push(hit);
    else suppressed.push({ rule: hit.rule, path, line: hit.line, reason: comment.reason });
  }
  findings.sort((a, b) => a.line - b.line);
  return { findings, suppressed, statements: statements.length };
}

function suppressionProblem(
  comment: SuppressionComment,
  known: ReadonlySet<string>,
): string | undefined {
  if (comment.rule === '') return 'it names no rule';
  if (!known.has(comment.rule)) return `"${comment.rule}" is not a rule id`;
  if (comment.reason === '') return 'it gives no reason';
  return undefined;
}

function invalidSuppression(path: string, comment: SuppressionComment, problem: string): Finding {
  return {
    rule: INVALID_SUPPRESSION_RULE,
    severity: 'error',
    category: 'compatibility',
    path,
    line: comment.line,
    statement: comment.text,
    message: `This suppression is invalid: ${problem}.`,
    fix: 'Write `-- cutover:ignore <rule-id> <why this is safe here>` on the line right above the statement, with a rule id from docs/migrations.md.',
  };
}
