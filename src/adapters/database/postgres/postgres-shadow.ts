// The PostgreSQL shadow copy (QUALITY.md section 3, "Shadow copies"): never a template of the
// live database (that needs it idle and copies its data). Instead a schema-only template,
// `cutover_shadow_template_<db>`, is restored from `pg_dump --schema-only` of the live database
// plus the rows of its history table, and refreshed only when the live schema or those rows
// change: a catalog fingerprint (catalog-fingerprint.ts, one query) is kept as the template's
// comment, and pg_dump runs only for a rebuild. Each shadow is then
// `CREATE DATABASE ... TEMPLATE <template> STRATEGY WAL_LOG`: a fast file-level copy.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { CutoverError } from '../../../core/errors.ts';
import { readCatalogFingerprint } from './catalog-fingerprint.ts';
import { connect, quoteIdent, redactUrl, withDatabase } from './pg-connection.ts';
import { findHistoryTable, HISTORY_TABLE } from './postgres-history.ts';

/** Serializes template refreshes and clones of one database across runners. */
const SHADOW_LOCK_KEY = createHash('sha256')
  .update('cutover:shadow')
  .digest()
  .readBigInt64BE(0)
  .toString();
const MAX_IDENTIFIER_BYTES = 63;
const TOOL_TIMEOUT_MS = 120_000;

export interface ShadowDatabase {
  readonly name: string;
  readonly url: string;
  /** Whether the template had to be rebuilt (the live schema or history changed). */
  readonly templateRefreshed: boolean;
}

/**
 * Runs `work` on a connection that holds the shadow lock, once the template is as fresh as the
 * live schema: the one order every user of the template keeps (a check, a preparation).
 */
async function withFreshTemplate<T>(
  url: string,
  binDir: string,
  work: (
    client: pg.Client,
    found: { info: DatabaseInfo; template: string; refreshed: boolean },
  ) => Promise<T>,
): Promise<T> {
  const client = await connect(url);
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [SHADOW_LOCK_KEY]);
    try {
      const info = await databaseInfo(client);
      const template = identifier('cutover_shadow_template_', info.name, '');
      const refreshed = await refreshTemplate(client, url, binDir, info, template);
      return await work(client, { info, template, refreshed });
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [SHADOW_LOCK_KEY])
        .catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createShadowDatabase(url: string, binDir: string): Promise<ShadowDatabase> {
  try {
    return await withFreshTemplate(url, binDir, async (client, { info, template, refreshed }) => {
      await dropAbandonedShadows(client, identifier('cutover_shadow_', info.name, '_'), template);
      const name = identifier('cutover_shadow_', info.name, `_${randomBytes(4).toString('hex')}`);
      const strategy = info.versionNum >= 150000 ? ' STRATEGY WAL_LOG' : '';
      await client.query(
        `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`,
      );
      // The creation time, so a shadow whose runner died (kill -9) is dropped by a later one.
      await client.query(
        `COMMENT ON DATABASE ${quoteIdent(name)} IS ${literal(`${SHADOW_COMMENT_PREFIX}${new Date().toISOString()}`)}`,
      );
      return { name, url: withDatabase(url, name), templateRefreshed: refreshed };
    });
  } catch (error) {
    if (error instanceof CutoverError) throw error;
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_FAILED',
      `could not create a shadow copy of ${redactUrl(url)}: ${(error as Error).message}. The database user needs CREATEDB`,
      { url: redactUrl(url) },
    );
  }
}

/**
 * Brings the schema-only template up to date with the live schema now, under the same advisory
 * lock as a shadow check (which waits for it), so the next check clones a fresh template instead
 * of rebuilding it: called after a migration changed the live schema. True when it rebuilt.
 */
export function refreshShadowTemplate(url: string, binDir: string): Promise<boolean> {
  return withFreshTemplate(url, binDir, (_client, { refreshed }) => Promise.resolve(refreshed));
}

const SHADOW_COMMENT_PREFIX = 'cutover shadow created ';
/** No shadow check lives this long (its checks time out well before): older ones were abandoned. */
const ABANDONED_SHADOW_MS = 15 * 60_000;

/**
 * Drops shadows of this database left by a runner that died before its drop (kill -9 of the
 * daemon): those with the prefix, created more than ABANDONED_SHADOW_MS ago, nobody connected.
 */
async function dropAbandonedShadows(
  client: pg.Client,
  prefix: string,
  template: string,
): Promise<void> {
  const found = await client.query<{ datname: string; comment: string | null; sessions: string }>(
    `SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment,
            (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid)::text AS sessions
       FROM pg_database d
      WHERE starts_with(d.datname, $1) AND d.datname <> $2 AND NOT d.datistemplate`,
    [prefix, template],
  );
  for (const row of found.rows) {
    const createdAt =
      row.comment?.startsWith(SHADOW_COMMENT_PREFIX) === true
        ? Date.parse(row.comment.slice(SHADOW_COMMENT_PREFIX.length))
        : Number.NaN;
    const abandoned =
      row.sessions === '0' &&
      (Number.isNaN(createdAt) || Date.now() - createdAt > ABANDONED_SHADOW_MS);
    if (!abandoned) continue;
    await client
      .query(`DROP DATABASE IF EXISTS ${quoteIdent(row.datname)} WITH (FORCE)`)
      .catch(() => undefined);
  }
}

/** Drops a shadow (connected to the live database, since a database cannot drop itself). */
export async function dropShadowDatabase(liveUrl: string, name: string): Promise<void> {
  const client = await connect(liveUrl);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface DatabaseInfo {
  readonly name: string;
  readonly versionNum: number;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
}

async function databaseInfo(client: pg.Client): Promise<DatabaseInfo> {
  const result = await client.query<{
    name: string;
    version: string;
    encoding: string;
    collate: string;
    ctype: string;
  }>(
    `SELECT datname AS name, current_setting('server_version_num') AS version,
            pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_database WHERE datname = current_database()`,
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('current_database() is not in pg_database');
  return { ...row, versionNum: Number(row.version) };
}

async function refreshTemplate(
  client: pg.Client,
  url: string,
  binDir: string,
  info: DatabaseInfo,
  template: string,
): Promise<boolean> {
  // Read before the dump: DDL landing between the two leaves a template newer than its
  // fingerprint, which only makes the next check rebuild it once more.
  const { fingerprint, templateComment } = await readCatalogFingerprint(client, template);
  if (templateComment === fingerprint) return false;

  const dump = await runTool(
    join(binDir, 'pg_dump'),
    [
      '--schema-only',
      '--no-owner',
      '--no-publications',
      '--no-subscriptions',
      '--dbname',
      withoutPassword(url),
    ],
    url,
  );
  const historyTable = await findHistoryTable(client);
  const history =
    historyTable === null
      ? []
      : (
          await client.query<Record<string, unknown>>(
            `SELECT name, checksum, phase, applied_at, release FROM ${historyTable} ORDER BY name`,
          )
        ).rows;
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`);
  await client.query(
    `CREATE DATABASE ${quoteIdent(template)} TEMPLATE template0 ENCODING ${literal(info.encoding)}
       LC_COLLATE ${literal(info.collate)} LC_CTYPE ${literal(info.ctype)}`,
  );
  const templateUrl = withDatabase(url, template);
  // One transaction (`-1`), committed without waiting for its WAL flush: one commit instead of
  // one per statement (about 1,400 for 200 tables), which on a server with fsync on is one flush
  // instead of 1,400. A crash losing it loses the fingerprint comment written after it too, so
  // the next shadow rebuilds the template.
  await runTool(
    join(binDir, 'psql'),
    ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '--dbname', withoutPassword(templateUrl)],
    url,
    dump,
    { PGOPTIONS: '-c synchronous_commit=off' },
  );
  if (historyTable !== null && history.length > 0) {
    const copy = await connect(templateUrl);
    try {
      const table = await findHistoryTable(copy);
      if (table === null) throw new Error(`${HISTORY_TABLE} is missing from the restored template`);
      await copy.query(
        `INSERT INTO ${table} (name, checksum, phase, applied_at, release)
         SELECT name, checksum, phase, applied_at, release
           FROM json_populate_recordset(NULL::${table}, $1::json)`,
        [JSON.stringify(history)],
      );
    } finally {
      await copy.end().catch(() => undefined);
    }
  }
  // Written last: a refresh cut short leaves no fingerprint, so the next shadow rebuilds it.
  await client.query(`COMMENT ON DATABASE ${quoteIdent(template)} IS ${literal(fingerprint)}`);
  return true;
}

/** `<prefix><db><suffix>`, shortened with a hash of the name to fit 63 bytes. */
function identifier(prefix: string, db: string, suffix: string): string {
  const full = `${prefix}${db}${suffix}`;
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha256').update(db).digest('hex').slice(0, 8);
  const room = MAX_IDENTIFIER_BYTES - prefix.length - suffix.length - hash.length - 1;
  let head = db;
  while (Buffer.byteLength(head) > room) head = head.slice(0, -1);
  return `${prefix}${head}_${hash}${suffix}`;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

/** Runs pg_dump or psql with the password in PGPASSWORD (never on the command line). */
function runTool(
  file: string,
  args: string[],
  url: string,
  input?: string,
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  const password = decodeURIComponent(new URL(url).password);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...env, ...(password === '' ? {} : { PGPASSWORD: password }) },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: TOOL_TIMEOUT_MS,
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err = (err + chunk).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else {
        const name = file.slice(file.lastIndexOf('/') + 1);
        reject(new Error(`${name} failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
      }
    });
    child.stdin.end(input ?? '');
  });
}
