// The freshness check of the shadow template: a fingerprint of the live database's schema and
// migration history, read in one round trip from the system catalogs instead of a full
// `pg_dump --schema-only` (about 100 ms for 200 tables). It covers what a schema-only dump
// restores: schemas, relations (tables, indexes, views, sequences and their parameters),
// columns, defaults, constraints, indexes, triggers, rules and view definitions, functions and
// their bodies, types and enum labels, policies, extended statistics, inheritance, extensions,
// comments and grants; plus the rows of the history table. It leaves out every catalog column
// that data changes, VACUUM, ANALYZE or TRUNCATE move (relpages, reltuples, relfilenode,
// relfrozenxid, atthasmissing, ...): only DDL changes it. Catalogs per
// https://www.postgresql.org/docs/current/catalogs.html; PostgreSQL 12 or later.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { HISTORY_TABLE } from './postgres-history.ts';

/** The app's own schemas: not the system ones, not other sessions' temporary ones. */
const USER_NAMESPACES = `SELECT oid FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'`;

/** One md5 per catalog, each over its rows as text in a fixed order. */
const CATALOG_PARTS: readonly (readonly [string, string])[] = [
  [
    'namespaces',
    `SELECT n.oid, n.nspname, n.nspacl FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM ns)`,
  ],
  [
    'relations',
    `SELECT c.oid, c.relname, c.relnamespace, c.reltype, c.relkind, c.relpersistence, c.relnatts,
            c.relchecks, c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
            c.relispartition, c.relacl, c.reloptions, pg_get_expr(c.relpartbound, c.oid),
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
       FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'columns',
    `SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.atthasdef,
            a.attidentity, a.attgenerated, a.attisdropped, a.attcollation, a.attstattarget,
            a.attacl, a.attoptions
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns) AND a.attnum > 0`,
  ],
  [
    'defaults',
    `SELECT d.adrelid, d.adnum, pg_get_expr(d.adbin, d.adrelid)
       FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'constraints',
    `SELECT k.oid, k.conname, k.connamespace, k.conrelid, k.contypid, k.contype, k.condeferrable,
            k.condeferred, k.convalidated, pg_get_constraintdef(k.oid)
       FROM pg_constraint k WHERE k.connamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'indexes',
    `SELECT i.indexrelid, i.indrelid, i.indisunique, i.indisprimary, i.indisvalid,
            i.indisreplident, pg_get_indexdef(i.indexrelid)
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'triggers',
    `SELECT t.oid, t.tgrelid, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid)
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'rules',
    `SELECT r.oid, r.ev_class, r.rulename, r.ev_enabled, pg_get_ruledef(r.oid)
       FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'functions',
    `SELECT p.oid, p.proname, p.pronamespace, p.prokind, p.prorettype, p.proargtypes,
            p.provolatile, p.prosecdef, p.proconfig, p.proacl, p.prosrc, p.probin,
            CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END
       FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'types',
    `SELECT t.oid, t.typname, t.typnamespace, t.typtype, t.typbasetype, t.typtypmod,
            t.typnotnull, t.typdefault, t.typacl
       FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'enum labels',
    `SELECT e.enumtypid, e.enumsortorder, e.enumlabel
       FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
      WHERE t.typnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'sequences',
    `SELECT s.seqrelid, s.seqtypid, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache,
            s.seqcycle
       FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'policies',
    `SELECT p.oid, p.polname, p.polrelid, p.polcmd, p.polpermissive, p.polroles,
            pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
       FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'statistics',
    `SELECT s.oid, s.stxname, s.stxnamespace, s.stxrelid, s.stxkeys, s.stxkind
       FROM pg_statistic_ext s WHERE s.stxnamespace IN (SELECT oid FROM ns)`,
  ],
  [
    'inheritance',
    `SELECT h.inhrelid, h.inhparent, h.inhseqno
       FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
      WHERE c.relnamespace IN (SELECT oid FROM ns)`,
  ],
  ['extensions', `SELECT x.extname, x.extversion, x.extnamespace FROM pg_extension x`],
  [
    // Objects created after initdb (FirstNormalObjectId): the app's, never the system's.
    'comments',
    `SELECT d.objoid, d.classoid, d.objsubid, d.description
       FROM pg_description d WHERE d.objoid >= 16384`,
  ],
];

/** The history table's rows, read by name through query_to_xml: no second round trip. */
const HISTORY_PART = `(SELECT md5(query_to_xml(
     format('SELECT name, checksum, phase, applied_at, release FROM %I.%I ORDER BY name',
            n.nspname, c.relname), false, false, '')::text)
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = '${HISTORY_TABLE}' AND c.relkind = 'r'
    AND n.nspname = ANY (current_schemas(false))
  ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1)`;

const FINGERPRINT_SQL = `WITH ns AS (${USER_NAMESPACES})
SELECT ${CATALOG_PARTS.map(
  ([, sql], index) =>
    `(SELECT md5(coalesce(string_agg(row::text, E'\\n' ORDER BY row::text), '')) FROM (${sql}) AS row) AS p${String(index)}`,
).join(',\n       ')},
       ${HISTORY_PART} AS history,
       (SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1) AS comment`;

export interface CatalogFingerprint {
  /** `cutover:catalog:<sha256>`: equal on two reads unless DDL or a history row came between. */
  readonly fingerprint: string;
  /** The template database's comment now (the fingerprint it was built from), or null. */
  readonly templateComment: string | null;
}

/** The schema and history fingerprint of the connected database, and `template`'s comment. */
export async function readCatalogFingerprint(
  client: pg.Client,
  template: string,
): Promise<CatalogFingerprint> {
  const result = await client.query<Record<string, string | null>>(FINGERPRINT_SQL, [template]);
  const row = result.rows[0] ?? {};
  const hash = createHash('sha256');
  CATALOG_PARTS.forEach(([name], index) => {
    hash.update(`${name}:${row[`p${String(index)}`] ?? ''}\n`);
  });
  hash.update(`history:${row['history'] ?? 'none'}\n`);
  return {
    fingerprint: `cutover:catalog:${hash.digest('hex')}`,
    templateComment: row['comment'] ?? null,
  };
}
