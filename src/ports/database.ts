// The app's database, as cutover migrates and shadows it (issue 4; DESIGN.md "Database
// (migrate, shadow)"). One adapter per dialect: adapters/database/postgres, adapters/database/sqlite.
import type { MigrationFile, MigrationPhase } from '../core/migration-file.ts';

export type DatabaseDialect = 'postgres' | 'sqlite';

/** One row of the history table (`cutover_migrations`). */
export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly phase: MigrationPhase;
  /** ISO-8601. */
  readonly appliedAt: string;
  /** The release whose deployment applied it. */
  readonly release: string;
}

export interface ApplyOptions {
  readonly release: string;
  /** Set for each statement (`SET lock_timeout`); a lock wait past it fails and is retried. */
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** Attempts after a lock timeout, with a growing pause, before the migration fails. */
  readonly retries: number;
  /** Called as each file starts and ends, for live progress. */
  readonly onProgress?: (event: {
    readonly file: string;
    readonly state: 'started' | 'applied';
  }) => void;
}

/**
 * A database cutover migrates. Lifecycle: opened by its factory, used, `close()`d.
 * Invariants:
 * - `apply` holds an advisory lock for its whole run, so two runners never interleave; it
 *   refuses (before applying anything) when an applied file's checksum differs from the file
 *   of the same name; it applies only files not yet applied, in name order, each recorded in
 *   the history table in the same transaction as its statements (transactional files), or
 *   right after them (`cutover:transaction off` files: statements one by one).
 * - `createShadow` never touches the live data: Postgres clones a schema-only template
 *   (`CREATE DATABASE ... TEMPLATE`), SQLite copies the file with its backup API.
 */
export interface MigrationTarget {
  readonly dialect: DatabaseDialect;
  /** The URL the app is given to reach this database (a shadow's own URL for a shadow). */
  readonly url: string;
  /** The history table's rows, oldest first (none when the table does not exist yet). */
  applied(): Promise<readonly AppliedMigration[]>;
  /** Applies the pending files among `files`; returns the rows it added. */
  apply(
    files: readonly MigrationFile[],
    options: ApplyOptions,
  ): Promise<readonly AppliedMigration[]>;
  /** A throwaway copy of this database's schema (SQLite: schema and data). */
  createShadow(): Promise<Shadow>;
  /**
   * Makes the next `createShadow` cheap after the live schema changed (PostgreSQL: rebuilds the
   * schema-only template now instead of in the next check); true when there was work to do.
   * Safe to run beside a check: both take the same lock. Absent where copies are always cheap.
   */
  prepareShadow?(): Promise<boolean>;
  close(): Promise<void>;
}

export interface Shadow {
  readonly target: MigrationTarget;
  /** Removes the copy; idempotent. */
  drop(): Promise<void>;
}
