// Seeds a PostgreSQL shadow with a bounded sample of the live database's rows, so the releases'
// writes meet real data (QUALITY.md section 3: "the empty shadow misses data-dependent
// breakage"). The shadow is a schema-only clone, so it runs before the migrations are applied:
// the sample goes into the same schema it was read from, and the migrations then run over it,
// as they will in production.
//
// Which rows: up to `maxRowsPerTable` of each table the writes touch, and of each table those
// reference by foreign key (transitively, at most MAX_SEED_TABLES tables). A parent's sample
// starts with the rows its children's samples reference, so the children's rows stay whole; a
// child row whose parent row is still not on the shadow is left out (MATCH SIMPLE: a NULL key
// passes).
// Production is only read, in one READ ONLY repeatable-read transaction with a statement
// timeout; the rows travel as JSON (`row_to_json` there, `json_populate_recordset` here), so no
// database link and no COPY stream is needed. User triggers are disabled on the shadow while it
// is seeded (they would write elsewhere); sequences are moved past the sampled keys.
import pg from 'pg';
import type { SeedReport, ShadowSeeder } from './compat-check.ts';

export const SEED_MAX_ROWS_PER_TABLE = 1_000;
export const MAX_SEED_TABLES = 50;
/** Each statement on either side; a sample this slow means the table is not indexable cheaply. */
export const SEED_STATEMENT_TIMEOUT_MS = 10_000;

export interface PgShadowSeederOptions {
  /** The live database: read only. */
  readonly liveUrl: string;
  /** The tables the writes touch, as written (`orders`, `shop.orders`). */
  readonly tables: readonly string[];
  readonly maxRowsPerTable?: number;
  readonly statementTimeoutMs?: number;
}

interface TableInfo {
  readonly oid: number;
  /** Quoted and schema-qualified: `public.orders`. */
  readonly name: string;
  /** Columns a row can be inserted with (not dropped, not generated), quoted. */
  readonly columns: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly sequences: readonly { readonly column: string; readonly sequence: string }[];
}

interface ForeignKey {
  readonly parent: number;
  readonly columns: readonly string[];
  readonly parentColumns: readonly string[];
}

export function createPgShadowSeeder(options: PgShadowSeederOptions): ShadowSeeder {
  return {
    async seed(shadowUrl) {
      if (options.tables.length === 0) return { tables: [] };
      const maxRows = options.maxRowsPerTable ?? SEED_MAX_ROWS_PER_TABLE;
      const timeoutMs = Math.max(
        1,
        Math.round(options.statementTimeoutMs ?? SEED_STATEMENT_TIMEOUT_MS),
      );
      const samples = await readSamples(options.liveUrl, options.tables, maxRows, timeoutMs);
      return writeSamples(shadowUrl, samples, timeoutMs);
    },
  };
}

interface Sample {
  readonly table: TableInfo;
  /** A JSON array of row objects. */
  readonly rows: string;
}

async function readSamples(
  liveUrl: string,
  written: readonly string[],
  maxRows: number,
  timeoutMs: number,
): Promise<{ samples: Sample[]; byOid: Map<number, TableInfo> }> {
  const live = new pg.Client({ connectionString: liveUrl });
  await live.connect();
  try {
    // Never a write to production: the transaction itself refuses one.
    await live.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await live.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    const byOid = new Map<number, TableInfo>();
    const queue: number[] = [];
    for (const name of new Set(written)) {
      // Tables only (plain or partitioned): a view's or a foreign table's rows live elsewhere.
      const found = await live.query<{ oid: number }>(
        `SELECT c.oid::int AS oid FROM pg_class c
          WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')`,
        [name],
      );
      const oid = found.rows[0]?.oid;
      // A table the migrations create does not exist in production yet: nothing to sample.
      if (oid !== undefined) queue.push(oid);
    }
    while (queue.length > 0 && byOid.size < MAX_SEED_TABLES) {
      const oid = queue.shift() as number;
      if (byOid.has(oid)) continue;
      const info = await describeTable(live, oid);
      byOid.set(oid, info);
      queue.push(...info.foreignKeys.map((key) => key.parent));
    }
    // Children first, so each parent's sample can start with the rows its children's samples
    // reference; then written to the shadow parents first.
    const ordered = parentsFirst([...byOid.values()], byOid);
    const read = new Map<number, string>();
    for (const table of [...ordered].reverse()) {
      read.set(table.oid, await readSample(live, table, ordered, read, maxRows));
    }
    const samples = ordered.map((table) => ({ table, rows: read.get(table.oid) ?? '[]' }));
    await live.query('COMMIT');
    return { samples, byOid };
  } finally {
    await live.end().catch(() => undefined);
  }
}

/**
 * Up to `maxRows` rows of `table`: first those the samples already read of the tables that
 * reference it point at, then any others. Rows are told apart by (tableoid, ctid), stable within
 * the snapshot, so no equality on the columns' types is needed.
 */
async function readSample(
  live: pg.Client,
  table: TableInfo,
  tables: readonly TableInfo[],
  read: ReadonlyMap<number, string>,
  maxRows: number,
): Promise<string> {
  const references: string[] = [];
  const values: string[] = [];
  for (const child of tables) {
    const sample = read.get(child.oid);
    if (child.oid === table.oid || sample === undefined) continue;
    for (const key of child.foreignKeys.filter((each) => each.parent === table.oid)) {
      values.push(sample);
      const match = key.columns
        .map((column, i) => `t.${key.parentColumns[i] ?? column} = c.${column}`)
        .join(' AND ');
      references.push(
        `EXISTS (SELECT 1 FROM json_populate_recordset(NULL::${child.name}, $${values.length}::json) c WHERE ${match})`,
      );
    }
  }
  const wanted =
    references.length === 0
      ? ''
      : `(SELECT t.tableoid, t.ctid, 0 AS rank FROM ${table.name} t
          WHERE ${references.join(' OR ')} LIMIT ${maxRows})
         UNION ALL `;
  const result = await live.query<{ rows: string }>(
    `WITH candidates AS (
       ${wanted}(SELECT tableoid, ctid, 1 AS rank FROM ${table.name} LIMIT ${maxRows})
     ), picked AS (
       SELECT DISTINCT ON (tableoid, ctid) tableoid, ctid, rank FROM candidates
        ORDER BY tableoid, ctid, rank
     ), chosen AS (SELECT tableoid, ctid FROM picked ORDER BY rank LIMIT ${maxRows})
     SELECT coalesce(json_agg(row_to_json(s)), '[]')::text AS rows
       FROM (SELECT ${table.columns.join(', ')} FROM ${table.name} t
              WHERE (t.tableoid, t.ctid) IN (SELECT tableoid, ctid FROM chosen)) s`,
    values,
  );
  return result.rows[0]?.rows ?? '[]';
}

async function describeTable(client: pg.Client, oid: number): Promise<TableInfo> {
  const name = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`,
    [oid],
  );
  const columns = await client.query<{ name: string; sequence: string | null }>(
    `SELECT quote_ident(a.attname) AS name,
            pg_get_serial_sequence($2, a.attname) AS sequence
       FROM pg_attribute a
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attnum`,
    [oid, name.rows[0]?.name ?? ''],
  );
  const keys = await client.query<{ parent: number; columns: string[]; parent_columns: string[] }>(
    `SELECT con.confrelid::int AS parent,
            array(SELECT quote_ident(attname) FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
                    JOIN pg_attribute ON attrelid = con.conrelid AND attnum = k.num ORDER BY k.pos) AS columns,
            array(SELECT quote_ident(attname) FROM unnest(con.confkey) WITH ORDINALITY k(num, pos)
                    JOIN pg_attribute ON attrelid = con.confrelid AND attnum = k.num ORDER BY k.pos) AS parent_columns
       FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = $1`,
    [oid],
  );
  return {
    oid,
    name: name.rows[0]?.name ?? String(oid),
    columns: columns.rows.map((row) => row.name),
    foreignKeys: keys.rows.map((row) => ({
      parent: row.parent,
      columns: row.columns,
      parentColumns: row.parent_columns,
    })),
    sequences: columns.rows.flatMap((row) =>
      row.sequence === null ? [] : [{ column: row.name, sequence: row.sequence }],
    ),
  };
}

/** Referenced tables before the tables referencing them; a cycle is broken where it is met. */
function parentsFirst(tables: readonly TableInfo[], byOid: Map<number, TableInfo>): TableInfo[] {
  const ordered: TableInfo[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (table: TableInfo): void => {
    if (state.has(table.oid)) return;
    state.set(table.oid, 'visiting');
    for (const key of table.foreignKeys) {
      const parent = byOid.get(key.parent);
      if (parent !== undefined) visit(parent);
    }
    state.set(table.oid, 'done');
    ordered.push(table);
  };
  for (const table of tables) visit(table);
  return ordered;
}

async function writeSamples(
  shadowUrl: string,
  read: { samples: Sample[]; byOid: Map<number, TableInfo> },
  timeoutMs: number,
): Promise<SeedReport> {
  const shadow = new pg.Client({ connectionString: shadowUrl });
  await shadow.connect();
  const seeded: { table: string; rows: number }[] = [];
  try {
    await shadow.query('BEGIN');
    await shadow.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    for (const { table, rows } of read.samples) {
      const columns = table.columns.join(', ');
      // Only rows whose parents are on the shadow (a NULL key references nothing).
      const parentsPresent = table.foreignKeys.map((key) => {
        const parent = read.byOid.get(key.parent);
        const anyNull = key.columns.map((column) => `s.${column} IS NULL`).join(' OR ');
        if (parent === undefined) return `(${anyNull})`;
        const match = key.columns
          .map((column, i) => `p.${key.parentColumns[i] ?? column} = s.${column}`)
          .join(' AND ');
        return `(${anyNull} OR EXISTS (SELECT 1 FROM ${parent.name} p WHERE ${match}))`;
      });
      await shadow.query(`ALTER TABLE ${table.name} DISABLE TRIGGER USER`);
      const inserted = await shadow.query(
        `INSERT INTO ${table.name} (${columns}) OVERRIDING SYSTEM VALUE
         SELECT ${table.columns.map((column) => `s.${column}`).join(', ')}
           FROM json_populate_recordset(NULL::${table.name}, $1::json) s
          ${parentsPresent.length === 0 ? '' : `WHERE ${parentsPresent.join(' AND ')}`}`,
        [rows],
      );
      await shadow.query(`ALTER TABLE ${table.name} ENABLE TRIGGER USER`);
      // Keys the sample holds are taken: the next default value comes after them.
      for (const { column, sequence } of table.sequences) {
        await shadow.query(
          `SELECT setval($1::regclass, m) FROM (SELECT max(${column})::bigint AS m FROM ${table.name}) x
            WHERE m IS NOT NULL`,
          [sequence],
        );
      }
      seeded.push({ table: table.name, rows: inserted.rowCount ?? 0 });
    }
    await shadow.query('COMMIT');
  } catch (error) {
    await shadow.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await shadow.end().catch(() => undefined);
  }
  return { tables: seeded };
}
