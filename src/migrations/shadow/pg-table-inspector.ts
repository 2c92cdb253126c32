// The PostgreSQL ShadowTableInspector: each table's `pg_class.relfilenode`, the file holding its
// rows. A statement that rewrites a table (a volatile default, a non-widening type change,
// VACUUM FULL, CLUSTER) gives it a new file, so a changed relfilenode between two snapshots is
// a rewrite (PostgreSQL docs §73.1 "Database File Layout"). Read on the shadow only: a rewrite
// found there is one production would suffer under ACCESS EXCLUSIVE for the whole copy.
import pg from 'pg';
import type { ShadowTableInspector } from './compat-check.ts';

// Ordinary, partitioned and materialized tables; a partitioned parent has no storage of its own
// (relfilenode 0), so only its partitions can show a rewrite.
const SNAPSHOT_SQL = `
  SELECT n.nspname || '.' || c.relname AS name, c.relfilenode::text AS storage
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%'
    AND n.nspname NOT LIKE 'pg_temp%'`;

export function createPgTableInspector(): ShadowTableInspector {
  return {
    async snapshot(shadowUrl) {
      const client = new pg.Client({ connectionString: shadowUrl });
      await client.connect();
      try {
        const result = await client.query<{ name: string; storage: string }>(SNAPSHOT_SQL);
        return new Map(result.rows.map((row) => [row.name, row.storage]));
      } finally {
        await client.end();
      }
    },
  };
}
