// The history table, `cutover_migrations`, in the schema the app's connection creates tables in.
import type pg from 'pg';
import type { MigrationPhase } from '../../../core/migration-file.ts';
import type { AppliedMigration } from '../../../ports/database.ts';
import { quoteIdent } from './pg-connection.ts';

export const HISTORY_TABLE = 'cutover_migrations';

/** The schema-qualified table name, or null when the table does not exist yet. */
export async function findHistoryTable(client: pg.Client): Promise<string | null> {
  const result = await client.query<{ schema: string | null }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind = 'r' AND n.nspname = ANY (current_schemas(false))
      ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1`,
    [HISTORY_TABLE],
  );
  const schema = result.rows[0]?.schema;
  return schema === undefined || schema === null ? null : `${quoteIdent(schema)}.${HISTORY_TABLE}`;
}

/** Creates the table in the first schema of the search path; returns its qualified name. */
export async function ensureHistoryTable(client: pg.Client): Promise<string> {
  const existing = await findHistoryTable(client);
  if (existing !== null) return existing;
  const result = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = result.rows[0]?.schema;
  if (schema === undefined || schema === null) {
    throw new Error(
      'the connection has no schema to create cutover_migrations in: set a search_path for the database user',
    );
  }
  const table = `${quoteIdent(schema)}.${HISTORY_TABLE}`;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${table} (
       name text PRIMARY KEY,
       checksum text NOT NULL,
       phase text NOT NULL,
       applied_at timestamptz NOT NULL,
       release text NOT NULL
     )`,
  );
  return table;
}

interface HistoryRow {
  name: string;
  checksum: string;
  phase: string;
  applied_at: Date;
  release: string;
}

export async function readHistory(client: pg.Client, table: string): Promise<AppliedMigration[]> {
  const result = await client.query<HistoryRow>(
    `SELECT name, checksum, phase, applied_at, release FROM ${table} ORDER BY applied_at, name`,
  );
  return result.rows.map(toApplied);
}

export async function insertHistory(
  client: pg.Client,
  table: string,
  row: { name: string; checksum: string; phase: MigrationPhase; release: string },
): Promise<AppliedMigration> {
  const result = await client.query<HistoryRow>(
    `INSERT INTO ${table} (name, checksum, phase, applied_at, release)
     VALUES ($1, $2, $3, clock_timestamp(), $4) RETURNING name, checksum, phase, applied_at, release`,
    [row.name, row.checksum, row.phase, row.release],
  );
  const inserted = result.rows[0];
  if (inserted === undefined) throw new Error('the history row was not inserted');
  return toApplied(inserted);
}

function toApplied(row: HistoryRow): AppliedMigration {
  return {
    name: row.name,
    checksum: row.checksum,
    phase: row.phase === 'contract' ? 'contract' : 'expand',
    appliedAt: row.applied_at.toISOString(),
    release: row.release,
  };
}
