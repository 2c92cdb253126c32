// Benchmark `shadow` (issue 4; QUALITY.md section 3 "Shadow copies": about 0.4 s for 200 tables
// here): cutover's own time in the shadow compatibility check, through `runCompatCheck` with the
// real adapters and no-op release checks, so only cutover's parts are timed: create the shadow,
// apply one expand migration on it, drop it. The schema: 200 tables, each with a primary key, two
// indexes and a foreign key to the table before it, and a view over the first ten.
//   - PostgreSQL (a throwaway server, test/helpers/postgres.ts): run 1 builds the schema-only
//     template (pg_dump + restore) before cloning it; the next runs clone the template as is
//     (CREATE DATABASE ... TEMPLATE ... STRATEGY WAL_LOG). Then a few runs after a real migration
//     changed the live schema, which makes each of them rebuild the template first. The table
//     inspector (which lock each statement took, which tables it rewrote) runs as in the pipeline.
//     Beside the runs: the freshness check's catalog fingerprint query alone, a pg_dump alone,
//     and the parts of a rebuild by hand (dump, empty database, restore plain / `psql -1` /
//     `psql -1` with synchronous_commit off, clone WAL_LOG / FILE_COPY).
//   - SQLite: the same schema, 100 rows per table, in one file; each shadow is VACUUM INTO.
//   node bench/shadow.ts         (npm run bench:shadow)
// Env: BENCH_SHADOW_TABLES (default 200), BENCH_SHADOW_RUNS (default 10), BENCH_SHADOW_REBUILDS (3).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readCatalogFingerprint } from '../src/adapters/database/postgres/catalog-fingerprint.ts';
import { openPostgresMigrationTarget } from '../src/adapters/database/postgres/postgres-migration-target.ts';
import { openSqliteMigrationTarget } from '../src/adapters/database/sqlite/sqlite-migration-target.ts';
import type { MigrationFile } from '../src/core/migration-file.ts';
import { parseMigrationHeader } from '../src/core/migration-file.ts';
import { runCompatCheck, type CompatReport } from '../src/migrations/shadow/compat-check.ts';
import { createPgTableInspector } from '../src/migrations/shadow/pg-table-inspector.ts';
import type { ApplyOptions, MigrationTarget } from '../src/ports/database.ts';
import pg from 'pg';
import { startTestPostgres } from '../test/helpers/postgres.ts';
import { onCleanup, runBenchmark } from './lib/cleanup.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';
import { median, round } from './lib/stats.ts';
import { createTempDir } from './lib/temp-dir.ts';

const TABLES = Number(process.env['BENCH_SHADOW_TABLES'] ?? '200');
const RUNS = Number(process.env['BENCH_SHADOW_RUNS'] ?? '10');
const REBUILDS = Number(process.env['BENCH_SHADOW_REBUILDS'] ?? '3');
const SQLITE_ROWS_PER_TABLE = 100;
const GOAL_MS = 2000;
const APPLY: Omit<ApplyOptions, 'release'> = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 60_000,
  retries: 0,
};

function migration(name: string, sql: string): MigrationFile {
  const header = parseMigrationHeader(sql);
  return {
    name,
    path: `migrations/${name}`,
    phase: header.phase,
    transactional: header.transactional,
    sql,
    // Only compared with the history's own checksum: any stable text per file does.
    checksum: `bench-${name}-${String(sql.length)}`,
  };
}

const tableName = (index: number): string => `t${String(index).padStart(3, '0')}`;

/** 200 tables (PK, FK to the previous table, two indexes) and a view. */
function schemaSql(dialect: 'postgres' | 'sqlite'): string {
  const id =
    dialect === 'postgres' ? 'id bigserial PRIMARY KEY' : 'id INTEGER PRIMARY KEY AUTOINCREMENT';
  const now = dialect === 'postgres' ? 'now()' : 'CURRENT_TIMESTAMP';
  const parts: string[] = [];
  for (let index = 1; index <= TABLES; index += 1) {
    const name = tableName(index);
    const parent = index === 1 ? '' : `, parent_id bigint REFERENCES ${tableName(index - 1)} (id)`;
    parts.push(
      `CREATE TABLE ${name} (${id}, name text NOT NULL, amount_cents integer NOT NULL DEFAULT 0, created_at timestamp NOT NULL DEFAULT ${now}${parent});`,
      `CREATE INDEX ${name}_name ON ${name} (name);`,
      `CREATE INDEX ${name}_created ON ${name} (created_at);`,
    );
  }
  const joined = Array.from({ length: Math.min(10, TABLES) }, (_, offset) => {
    const name = tableName(offset + 1);
    return `SELECT '${name}' AS source, id, name, amount_cents FROM ${name}`;
  }).join(' UNION ALL ');
  parts.push(`CREATE VIEW recent_amounts AS ${joined};`);
  return parts.join('\n');
}

const EXPAND_SQL = `ALTER TABLE ${tableName(1)} ADD COLUMN note text;
CREATE TABLE audit_events (id bigint PRIMARY KEY, table_name text NOT NULL, at timestamp NOT NULL);
CREATE INDEX audit_events_table ON audit_events (table_name);
`;

/** The adapter's schema-only template of the database `shop`. */
const TEMPLATE = 'cutover_shadow_template_shop';

/** One `pg_dump --schema-only` with the adapter's flags, output read and dropped. */
function timePgDump(binDir: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      join(binDir, 'pg_dump'),
      ['--schema-only', '--no-owner', '--no-publications', '--no-subscriptions', '--dbname', url],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.resume();
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`pg_dump exited ${String(code)}`));
    });
  });
}

/** Runs pg_dump or psql; resolves with its output and the time it took. */
function runTool(
  file: string,
  args: readonly string[],
  input?: string,
  env?: Readonly<Record<string, string>>,
): Promise<{ out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0)
        resolve({ out: Buffer.concat(out).toString('utf8'), ms: performance.now() - started });
      else reject(new Error(`${file} exited ${String(code)}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Where a template rebuild's time goes, each part timed by hand on the same server. */
interface RebuildParts {
  /** `pg_dump --schema-only` of the live database, as the adapter runs it. */
  dumpMs: number[];
  /** The empty template: CREATE DATABASE ... TEMPLATE template0. */
  createEmptyMs: number[];
  /** The same with STRATEGY FILE_COPY (a checkpoint, then a file copy). */
  createEmptyFileCopyMs: number[];
  /** psql restoring the dump statement by statement (one transaction each: the adapter before). */
  restoreMs: number[];
  /** The same restore with `psql -1` (one transaction). */
  restoreOneTransactionMs: number[];
  /** `psql -1` with synchronous_commit off for the restore's session (the adapter now). */
  restoreOneTransactionAsyncMs: number[];
  /** A shadow's clone of the rebuilt template, WAL_LOG (the adapter's) and FILE_COPY. */
  cloneWalLogMs: number[];
  cloneFileCopyMs: number[];
}

async function timeRebuildParts(
  admin: pg.Client,
  binDir: string,
  url: string,
  index: number,
  parts: RebuildParts,
): Promise<void> {
  const dump = await runTool(join(binDir, 'pg_dump'), [
    '--schema-only',
    '--no-owner',
    '--no-publications',
    '--no-subscriptions',
    '--dbname',
    url,
  ]);
  parts.dumpMs.push(dump.ms);
  const sql = dump.out;
  const names = ['plain', 'one', 'async'].map((kind) => `bench_rebuild_${kind}_${String(index)}`);
  const [plain = '', one = '', asyncName = ''] = names;
  let started = performance.now();
  await admin.query(`CREATE DATABASE ${plain} TEMPLATE template0`);
  parts.createEmptyMs.push(performance.now() - started);
  started = performance.now();
  await admin.query(`CREATE DATABASE ${one} TEMPLATE template0 STRATEGY FILE_COPY`);
  parts.createEmptyFileCopyMs.push(performance.now() - started);
  await admin.query(`CREATE DATABASE ${asyncName} TEMPLATE template0`);
  const psql = join(binDir, 'psql');
  const on = (name: string): string => url.replace(/\/[^/]*$/, `/${name}`);
  const base = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];
  parts.restoreMs.push((await runTool(psql, [...base, '--dbname', on(plain)], sql)).ms);
  parts.restoreOneTransactionMs.push(
    (await runTool(psql, [...base, '-1', '--dbname', on(one)], sql)).ms,
  );
  parts.restoreOneTransactionAsyncMs.push(
    (
      await runTool(psql, [...base, '-1', '--dbname', on(asyncName)], sql, {
        PGOPTIONS: '-c synchronous_commit=off',
      })
    ).ms,
  );
  for (const [strategy, into] of [
    ['WAL_LOG', parts.cloneWalLogMs],
    ['FILE_COPY', parts.cloneFileCopyMs],
  ] as const) {
    const clone = `bench_rebuild_clone_${strategy.toLowerCase()}_${String(index)}`;
    started = performance.now();
    await admin.query(`CREATE DATABASE ${clone} TEMPLATE ${plain} STRATEGY ${strategy}`);
    into.push(performance.now() - started);
    await admin.query(`DROP DATABASE ${clone} WITH (FORCE)`);
  }
  for (const name of names) await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
}

const noChecks = () => Promise.resolve({ passed: true, checks: [] });

interface Run {
  readonly createMs: number;
  readonly applyMs: number;
  readonly dropMs: number;
  readonly cutoverMs: number;
}

async function shadowRun(
  target: MigrationTarget,
  inspect: boolean,
  expand: MigrationFile,
): Promise<Run> {
  const report: CompatReport = await runCompatCheck({
    target,
    files: [expand],
    release: 'bench',
    liveRelease: 'live',
    checks: { live: noChecks, next: noChecks },
    apply: APPLY,
    ...(inspect ? { inspector: createPgTableInspector() } : {}),
  });
  if (!report.passed) throw new Error(`the shadow check failed: ${report.failures.join('; ')}`);
  return { ...report.shadow, cutoverMs: report.cutoverMs };
}

async function timeRuns(
  count: number,
  run: (index: number) => Promise<Run>,
): Promise<readonly Run[]> {
  const runs: Run[] = [];
  for (let index = 0; index < count; index += 1) runs.push(await run(index));
  return runs;
}

interface Stats {
  readonly medianMs: number;
  readonly maxMs: number;
  readonly runsMs: readonly number[];
}

function stats(values: readonly number[]): Stats {
  return {
    medianMs: round(median(values)),
    maxMs: round(Math.max(...values)),
    runsMs: values.map((value) => round(value)),
  };
}

function summarize(runs: readonly Run[]): Record<keyof Run, Stats> {
  return {
    createMs: stats(runs.map((run) => run.createMs)),
    applyMs: stats(runs.map((run) => run.applyMs)),
    dropMs: stats(runs.map((run) => run.dropMs)),
    cutoverMs: stats(runs.map((run) => run.cutoverMs)),
  };
}

function rows(label: string, summary: Record<keyof Run, Stats>): Cell[][] {
  return (['createMs', 'applyMs', 'dropMs', 'cutoverMs'] as const).map((key) => [
    label,
    key.replace(/Ms$/, ''),
    summary[key].medianMs,
    summary[key].maxMs,
  ]);
}

async function postgresRuns(): Promise<Record<string, unknown>> {
  const server = await startTestPostgres();
  onCleanup(() => server.stop());
  const url = await server.createDatabase('shop');
  const target = await openPostgresMigrationTarget(url, { pgBinDir: server.binDir });
  onCleanup(() => target.close());
  const setupStart = performance.now();
  await target.apply([migration('0001_schema.sql', schemaSql('postgres'))], {
    ...APPLY,
    release: 'v1',
  });
  const setupMs = performance.now() - setupStart;
  const expand = migration('0002_expand.sql', EXPAND_SQL);

  // Run 1 builds the template; the next ones clone it as it is. After each run, alternating on
  // the same noisy machine, the floor of cutover's create: the catalog fingerprint query alone
  // (the freshness check every shadow runs), a pg_dump alone (what that check cost before the
  // fingerprint; now only a rebuild dumps), then the clone of the template alone and its drop.
  const floor: {
    fingerprintMs: number[];
    dumpMs: number[];
    cloneMs: number[];
    dropMs: number[];
  } = {
    fingerprintMs: [],
    dumpMs: [],
    cloneMs: [],
    dropMs: [],
  };
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  onCleanup(() => admin.end());
  const runs = await timeRuns(RUNS, async (index) => {
    const run = await shadowRun(target, true, expand);
    const fingerprintStart = performance.now();
    await readCatalogFingerprint(admin, TEMPLATE);
    floor.fingerprintMs.push(performance.now() - fingerprintStart);
    floor.dumpMs.push(await timePgDump(server.binDir, url));
    const name = `bench_clone_${String(index)}`;
    let started = performance.now();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE} STRATEGY WAL_LOG`);
    floor.cloneMs.push(performance.now() - started);
    started = performance.now();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    floor.dropMs.push(performance.now() - started);
    return run;
  });
  const [first] = runs;
  const warm = runs.slice(1);
  // Each of these follows a real migration of the live database: the template is rebuilt.
  const rebuilds = await timeRuns(REBUILDS, async (index) => {
    const name = `0001_live_${String(index).padStart(2, '0')}.sql`;
    await target.apply([migration(name, `CREATE TABLE live_${String(index)} (id int);`)], {
      ...APPLY,
      release: `v1.${String(index)}`,
    });
    return shadowRun(target, true, expand);
  });
  // As the pipeline runs it: after its production migration it prepares the template in the
  // background, so the next deployment's check clones it. Its time is measured apart.
  const prepareMs: number[] = [];
  const prepared = await timeRuns(REBUILDS, async (index) => {
    const name = `0002_live_${String(index).padStart(2, '0')}.sql`;
    await target.apply([migration(name, `CREATE TABLE prepared_${String(index)} (id int);`)], {
      ...APPLY,
      release: `v2.${String(index)}`,
    });
    const started = performance.now();
    await target.prepareShadow?.();
    prepareMs.push(performance.now() - started);
    return shadowRun(target, true, expand);
  });
  // The same clones without the table inspector: what the inspection adds to apply.
  const plain = await timeRuns(RUNS, () => shadowRun(target, false, expand));
  // Where a rebuild's time goes, and what the restore and clone options cost.
  const rebuildParts: RebuildParts = {
    dumpMs: [],
    createEmptyMs: [],
    createEmptyFileCopyMs: [],
    restoreMs: [],
    restoreOneTransactionMs: [],
    restoreOneTransactionAsyncMs: [],
    cloneWalLogMs: [],
    cloneFileCopyMs: [],
  };
  for (let index = 0; index < REBUILDS; index += 1) {
    await timeRebuildParts(admin, server.binDir, url, index, rebuildParts);
  }
  return {
    setupMs: round(setupMs),
    first: first === undefined ? null : summarize([first]),
    runs: summarize(runs),
    warm: summarize(warm),
    rebuilds: summarize(rebuilds),
    prepared: summarize(prepared),
    prepareInBackgroundMs: stats(prepareMs),
    withoutInspector: summarize(plain),
    rebuildParts: Object.fromEntries(
      Object.entries(rebuildParts).map(([part, values]: [string, number[]]) => [
        part,
        stats(values),
      ]),
    ),
    floor: {
      fingerprintMs: stats(floor.fingerprintMs),
      pgDumpMs: stats(floor.dumpMs),
      cloneMs: stats(floor.cloneMs),
      dropMs: stats(floor.dropMs),
    },
  };
}

async function sqliteRuns(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, 'shop.db');
  const target = await openSqliteMigrationTarget(`sqlite:${path}`);
  onCleanup(() => target.close());
  const inserts: string[] = [];
  for (let index = 1; index <= TABLES; index += 1) {
    const parent = index === 1 ? '' : ', parent_id';
    const parentValue = index === 1 ? '' : ', value';
    inserts.push(
      `INSERT INTO ${tableName(index)} (name, amount_cents${parent}) ` +
        `WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < ${String(SQLITE_ROWS_PER_TABLE)}) ` +
        `SELECT 'row ' || value, value * 100${parentValue} FROM n;`,
    );
  }
  await target.apply(
    [migration('0001_schema.sql', `${schemaSql('sqlite')}\n${inserts.join('\n')}`)],
    { ...APPLY, release: 'v1' },
  );
  const expand = migration(
    '0002_expand.sql',
    EXPAND_SQL.replace(/bigint PRIMARY KEY/, 'INTEGER PRIMARY KEY'),
  );
  const runs = await timeRuns(RUNS, () => shadowRun(target, false, expand));
  return { rowsPerTable: SQLITE_ROWS_PER_TABLE, runs: summarize(runs) };
}

async function main(): Promise<void> {
  for (const [name, value] of [
    ['BENCH_SHADOW_TABLES', TABLES],
    ['BENCH_SHADOW_RUNS', RUNS],
    ['BENCH_SHADOW_REBUILDS', REBUILDS],
  ] as const) {
    if (!(Number.isInteger(value) && value > 0)) {
      throw new Error(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  const dir = await createTempDir('shadow');
  const postgres = await postgresRuns();
  const sqlite = await sqliteRuns(dir);
  type Summary = Record<keyof Run, Stats>;
  const pgRuns = postgres['runs'] as Summary;
  const pgFirst = postgres['first'] as Summary | null;
  const sqliteSummary = sqlite['runs'] as Summary;
  printTable(
    `shadow: ${String(TABLES)} tables (PK, 2 indexes, FK each) and a view; ${String(RUNS)} runs; no-op release checks; ms`,
    ['database', 'part', 'median', 'max'],
    [
      ...(pgFirst === null ? [] : rows('postgres, run 1 (template build)', pgFirst)),
      ...rows('postgres, runs 2.. (warm clone)', postgres['warm'] as Summary),
      ...rows(`postgres, all ${String(RUNS)} runs`, pgRuns),
      ...rows(
        `postgres, after a live migration (${String(REBUILDS)} runs)`,
        postgres['rebuilds'] as Summary,
      ),
      ...rows(
        `postgres, after a live migration, template prepared after it (${String(REBUILDS)} runs)`,
        postgres['prepared'] as Summary,
      ),
      [
        'postgres, the preparation itself (in the background, after the migration)',
        'prepare',
        (postgres['prepareInBackgroundMs'] as Stats).medianMs,
        (postgres['prepareInBackgroundMs'] as Stats).maxMs,
      ],
      ...rows('postgres, warm, no table inspector', postgres['withoutInspector'] as Summary),
      ...rows(`sqlite (${String(SQLITE_ROWS_PER_TABLE)} rows per table)`, sqliteSummary),
      ...Object.entries(postgres['floor'] as Record<string, Stats>).map(([part, value]): Cell[] => [
        'postgres floor, beside each run',
        part.replace(/Ms$/, ''),
        value.medianMs,
        value.maxMs,
      ]),
      ...Object.entries(postgres['rebuildParts'] as Record<string, Stats>).map(
        ([part, value]): Cell[] => [
          `postgres rebuild parts (${String(REBUILDS)} runs)`,
          part.replace(/Ms$/, ''),
          value.medianMs,
          value.maxMs,
        ],
      ),
    ],
  );
  // Both databases, every run counted (run 1 included): the median is the typical deployment,
  // the max what a deployment on a busy machine may pay.
  const goalMedianMet =
    pgRuns.cutoverMs.medianMs < GOAL_MS && sqliteSummary.cutoverMs.medianMs < GOAL_MS;
  const goalMet = pgRuns.cutoverMs.maxMs < GOAL_MS && sqliteSummary.cutoverMs.maxMs < GOAL_MS;
  process.stdout.write(
    `\ngoal: cutover's own time (create + apply + drop) < ${String(GOAL_MS)} ms over ${String(RUNS)} runs incl. the template build, both databases: ` +
      `median ${goalMedianMet ? 'met' : 'NOT met'}, max ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('shadow', {
    command: 'node bench/shadow.ts',
    tables: TABLES,
    runs: RUNS,
    goal: { ms: GOAL_MS },
    goalMet,
    goalMedianMet,
    postgres,
    sqlite,
  });
}

runBenchmark('shadow', main);
