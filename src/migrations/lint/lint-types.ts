// The linter's contract (QUALITY.md section 3): one rule per file under `rules/`, each a pure
// function of one parsed statement and its file's context. The engine (`lint-sql.ts`) splits a
// file into statements with the real PostgreSQL parser (libpg-query), runs every rule, applies
// inline suppressions (`-- cutover:ignore <rule> <reason>`) and reports findings.
import type { MigrationPhase } from '../../core/migration-file.ts';
import type { SchemaModel } from './schema-model.ts';

export type Dialect = 'postgres' | 'sqlite';

/** Blocking (`error`, exit 1) or advisory (`warning`, the rules marked (W)). */
export type Severity = 'error' | 'warning';

export type RuleCategory = 'compatibility' | 'locking' | 'data' | 'transactions';

/** One statement of a migration file, parsed. */
export interface LintStatement {
  /** 0-based position in the file. */
  readonly index: number;
  /** The statement's own text, trimmed, without its trailing semicolon. */
  readonly sql: string;
  /** 1-based line of the statement's first character in the file. */
  readonly line: number;
  /** The node type of the parsed statement, e.g. `AlterTableStmt`, `IndexStmt`. */
  readonly kind: string;
  /** The node itself: `RawStmt.stmt[kind]` of libpg-query's JSON (a plain object). */
  readonly node: Readonly<Record<string, unknown>>;
}

export interface LintFileContext {
  /** Path shown in findings, e.g. `migrations/0003_add_email.sql`. */
  readonly path: string;
  readonly phase: MigrationPhase;
  /** Whether the runner wraps the file in a transaction (header `cutover:transaction`). */
  readonly transactional: boolean;
  readonly dialect: Dialect;
  /** Every statement of the file, for rules that look at their neighbours (BEGIN/COMMIT, VALIDATE). */
  readonly statements: readonly LintStatement[];
  /**
   * Tables created earlier in this same file or in pending migrations of this run: a new
   * table has no reader in the serving version, so most compatibility rules skip it.
   */
  readonly newTables: ReadonlySet<string>;
  /** The file runs outside cutover's runner (no lock_timeout set for it): `--outside-runner`. */
  readonly outsideRunner: boolean;
  /**
   * Column types as the earlier migrations of the folder (and the statements before this one)
   * left them; absent or unknown: rules judge without them. Valid during `check` only.
   */
  readonly schema?: SchemaModel;
}

/** What a rule reports about one statement; the engine adds rule, severity, file, line, statement. */
export interface RuleHit {
  /** Why it breaks the serving version or locks the table, in one or two sentences. */
  readonly message: string;
  /** The safe alternative, concretely (`CREATE INDEX CONCURRENTLY ...` in a file with `-- cutover:transaction off`). */
  readonly fix: string;
  /** For data-dependent rules: a query to run first that finds the rows that would fail. */
  readonly preflight?: string;
}

export interface Rule {
  /** Kebab-case id used in findings and suppressions: `drop-column`. */
  readonly id: string;
  readonly title: string;
  readonly category: RuleCategory;
  readonly severity: Severity;
  /** Allowed in a contract-phase file (it then reports nothing there). */
  readonly allowedInContract: boolean;
  readonly dialects: readonly Dialect[];
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[];
}

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly category: RuleCategory;
  readonly path: string;
  readonly line: number;
  readonly statement: string;
  readonly message: string;
  readonly fix: string;
  readonly preflight?: string;
}

/** A `-- cutover:ignore <rule> <reason>` that silenced a finding, for the report. */
export interface Suppression {
  readonly rule: string;
  readonly path: string;
  readonly line: number;
  readonly reason: string;
}

export interface LintResult {
  readonly findings: readonly Finding[];
  readonly suppressed: readonly Suppression[];
  /** Statements parsed (for the benchmark and the summary line). */
  readonly statements: number;
}

/**
 * Every rule id, grouped as in QUALITY.md section 3; each has its own file
 * `rules/<id>.ts` exporting `rule` (a Rule) and a test `rules/<id>.test.ts`.
 */
export const RULE_IDS = {
  compatibility: [
    'drop-table',
    'drop-column',
    'rename-table',
    'rename-column',
    'change-column-type',
    'add-not-null-column-without-default',
    'set-not-null',
    'drop-default-not-null',
    'add-constraint-existing-columns',
    'enum-value-rename-remove',
    'enum-add-value',
    'drop-not-null',
    'rename-drop-schema',
    'redefine-view-function',
    'sqlite-table-rebuild',
  ],
  locking: [
    'missing-lock-timeout',
    'index-without-concurrently',
    'concurrently-in-transaction',
    'constraint-without-not-valid',
    'add-unique-primary-key-directly',
    'table-rewrite',
    'set-not-null-without-check',
    'detach-partition-without-concurrently',
    'vacuum-full-cluster',
    'backfill-in-ddl-transaction',
  ],
  data: ['unique-not-null-existing-data', 'cast-using'],
  transactions: ['unterminated-nested-begin', 'sqlite-foreign-keys-in-transaction'],
} as const satisfies Record<RuleCategory, readonly string[]>;

export type RuleId = (typeof RULE_IDS)[RuleCategory][number];
