// The history table, `cutover_migrations`, in the SQLite file (same columns as PostgreSQL's;
// applied_at is ISO-8601 text).
import type { DatabaseSync } from 'node:sqlite';
import type { MigrationPhase } from '../../../core/migration-file.ts';
import type { AppliedMigration } from '../../../ports/database.ts';

export const HISTORY_DDL = `CREATE TABLE IF NOT EXISTS cutover_migrations (
  name TEXT PRIMARY KEY,
  checksum TEXT NOT NULL,
  phase TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  release TEXT NOT NULL
)`;

export function hasHistoryTable(db: DatabaseSync): boolean {
  return (
    db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cutover_migrations'")
      .get() !== undefined
  );
}

export function readHistory(db: DatabaseSync): AppliedMigration[] {
  if (!hasHistoryTable(db)) return [];
  const rows = db
    .prepare(
      'SELECT name, checksum, phase, applied_at, release FROM cutover_migrations ORDER BY applied_at, name',
    )
    .all() as {
    name: string;
    checksum: string;
    phase: string;
    applied_at: string;
    release: string;
  }[];
  return rows.map((row) => ({
    name: row.name,
    checksum: row.checksum,
    phase: row.phase === 'contract' ? 'contract' : 'expand',
    appliedAt: row.applied_at,
    release: row.release,
  }));
}

export function insertHistory(
  db: DatabaseSync,
  row: { name: string; checksum: string; phase: MigrationPhase; release: string },
): AppliedMigration {
  const appliedAt = new Date().toISOString();
  db.prepare(
    'INSERT INTO cutover_migrations (name, checksum, phase, applied_at, release) VALUES (?, ?, ?, ?, ?)',
  ).run(row.name, row.checksum, row.phase, appliedAt, row.release);
  return {
    name: row.name,
    checksum: row.checksum,
    phase: row.phase,
    appliedAt,
    release: row.release,
  };
}
