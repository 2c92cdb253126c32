// The shadow compatibility check (issue 4 item 3; DESIGN.md pipeline step 4): on a throwaway
// copy of the app's database, apply the pending expand migrations, then run the compat checks of
// the live release and of the new release against it. Both must pass before production is
// touched. Pure orchestration over the MigrationTarget port and two check callbacks: how a check
// runs (instances on the shadow, a command) is the caller's business.
import type { MigrationFile } from '../../core/migration-file.ts';
import type { ApplyOptions, MigrationTarget } from '../../ports/database.ts';
import { describeStatementLocks } from './statement-locks.ts';
import type { StatementLock } from './statement-locks.ts';

/** One check of one release against the shadow, e.g. `POST /api/orders` or the compat command. */
export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  /** What was seen, for the report: `status 500, expected 201: orders.channel is required`. */
  readonly detail: string;
  readonly durationMs: number;
}

/** What a release's checks found against the shadow. */
export interface CheckOutcome {
  readonly passed: boolean;
  readonly checks: readonly CheckResult[];
}

/** Runs one release's checks against the database at `shadowUrl`. */
export type CompatCheckRunner = (shadowUrl: string) => Promise<CheckOutcome>;

/**
 * Reads a fingerprint of each table's storage on the shadow (Postgres: `pg_class.relfilenode`),
 * before the first file and after each one: a changed fingerprint means the file rewrote the table.
 */
export interface ShadowTableInspector {
  snapshot(shadowUrl: string): Promise<ReadonlyMap<string, string>>;
}

/** A statement's lock, and whether it rewrote its table as seen on the shadow. */
export interface StatementLockReport extends StatementLock {
  /**
   * True: its table was rewritten and no other statement of the file could have done it; false:
   * its table was not rewritten, or its lock (weaker than ACCESS EXCLUSIVE) cannot rewrite; null:
   * another ACCESS EXCLUSIVE statement of the file on the same table may have done it.
   */
  readonly rewrote: boolean | null;
}

export interface FileLockReport {
  readonly file: string;
  /** Per statement, the lock its kind takes (PostgreSQL docs §13.3.1); null when not derivable. */
  readonly statements: readonly StatementLockReport[];
  /** Tables that existed before the file and whose storage it replaced (a full rewrite). */
  readonly rewrittenTables: readonly string[];
}

/** What a seeder copied onto the shadow: rows per table. */
export interface SeedReport {
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
}

/**
 * Copies a bounded sample of the live database's rows onto a fresh shadow, before the migrations
 * are applied (Postgres: the shadow is a schema-only clone; a SQLite shadow is a full copy).
 */
export interface ShadowSeeder {
  seed(shadowUrl: string): Promise<SeedReport>;
}

export interface ReleaseOutcome {
  readonly release: string;
  readonly outcome: CheckOutcome;
}

export interface CompatReport {
  readonly passed: boolean;
  readonly shadow: {
    readonly createMs: number;
    readonly applyMs: number;
    readonly dropMs: number;
    /** Copying the live rows onto the shadow (0 without a seeder). */
    readonly seedMs: number;
  };
  /** With a seeder: the rows copied per table; null when seeding failed or there was none. */
  readonly seeded: SeedReport['tables'] | null;
  /** Why seeding the shadow failed; the migrations and checks did not run then. */
  readonly seedError: string | null;
  /** The files applied on the shadow, in order. */
  readonly applied: readonly string[];
  /** Why applying the files to the shadow failed; the checks did not run then. */
  readonly applyError: string | null;
  /** Null when nothing is live yet (a first deployment) or the files did not apply. */
  readonly live: ReleaseOutcome | null;
  /** Null only when the files did not apply. */
  readonly next: ReleaseOutcome | null;
  /** Cutover's own time: create + seed + apply (+ inspection) + drop, without the checks. */
  readonly cutoverMs: number;
  /** Only with an inspector (Postgres): the locks and rewrites of each file on the shadow. */
  readonly lockReport?: readonly FileLockReport[];
  /** One line per failure for people: which release failed which check, and why. */
  readonly failures: readonly string[];
}

export interface CompatCheckInput {
  readonly target: MigrationTarget;
  /** The pending expand files of the new release, in order. */
  readonly files: readonly MigrationFile[];
  /** The new release's id: the shadow's history rows name it. */
  readonly release: string;
  /** The live release's id, for the report; null or absent when nothing is live. */
  readonly liveRelease?: string | null;
  readonly checks: { readonly live?: CompatCheckRunner; readonly next: CompatCheckRunner };
  /** Timeouts for applying on the shadow (defaults: 5 s lock, 60 s statement, no retries). */
  readonly apply?: Partial<Omit<ApplyOptions, 'release'>>;
  readonly inspector?: ShadowTableInspector;
  /** Seeds the shadow with live rows before the files are applied (the writes checks need them). */
  readonly seeder?: ShadowSeeder;
  /** Monotonic milliseconds (tests pass a fake). */
  readonly monotonicMs?: () => number;
}

// Nothing else uses the shadow, so a lock wait there means a bug: fail fast, never retry.
const DEFAULT_APPLY: Omit<ApplyOptions, 'release'> = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 60_000,
  retries: 0,
};

/**
 * Creates the shadow, applies `files` on it, runs the live release's checks and then the new
 * release's, and always drops the shadow. A failed check or migration is reported, not thrown;
 * only a shadow that cannot be created (or dropped) throws.
 */
export async function runCompatCheck(input: CompatCheckInput): Promise<CompatReport> {
  const now = input.monotonicMs ?? (() => performance.now());
  const contract = input.files.filter((file) => file.phase !== 'expand');
  if (contract.length > 0) {
    throw new Error(
      `the shadow check takes expand migrations only; ${contract.map((file) => file.name).join(', ')} ` +
        'is a contract migration, which runs after the old release is retired',
    );
  }
  const options: ApplyOptions = { ...DEFAULT_APPLY, ...input.apply, release: input.release };
  const liveName = input.liveRelease ?? 'the live release';

  let started = now();
  const shadow = await input.target.createShadow();
  const createMs = now() - started;
  let applyMs: number;
  let seedMs = 0;
  let dropMs: number;
  let seeded: SeedReport['tables'] | null = null;
  let seedError: string | null = null;
  let applied: string[] = [];
  let applyError: string | null = null;
  let lockReport: FileLockReport[] | undefined;
  let live: ReleaseOutcome | null = null;
  let next: ReleaseOutcome | null = null;
  try {
    if (input.seeder !== undefined) {
      started = now();
      try {
        seeded = (await input.seeder.seed(shadow.target.url)).tables;
      } catch (error) {
        seedError = messageOf(error);
      } finally {
        seedMs = now() - started;
      }
    }
    started = now();
    try {
      if (seedError !== null) {
        // Nothing more runs on a shadow that is not what the checks expect.
      } else if (input.inspector === undefined) {
        const rows = await shadow.target.apply(input.files, options);
        applied = rows.map((row) => row.name);
      } else {
        const inspected = await applyInspected(
          shadow.target,
          input.files,
          options,
          input.inspector,
        );
        applied = inspected.applied;
        lockReport = inspected.lockReport;
      }
    } catch (error) {
      applyError = messageOf(error);
    } finally {
      applyMs = now() - started;
    }
    if (applyError === null && seedError === null) {
      const url = shadow.target.url;
      if (input.checks.live !== undefined) {
        live = { release: liveName, outcome: await runChecks(input.checks.live, url, now) };
      }
      next = { release: input.release, outcome: await runChecks(input.checks.next, url, now) };
    }
  } finally {
    started = now();
    await shadow.drop();
    dropMs = now() - started;
  }

  const failures: string[] = [];
  if (seedError !== null) {
    failures.push(`seeding the shadow with the live database's rows failed: ${seedError}`);
  }
  if (applyError !== null) {
    failures.push(`the migrations of ${input.release} failed on the shadow: ${applyError}`);
  }
  for (const [role, result] of [
    ['live', live],
    ['new', next],
  ] as const) {
    if (result === null) continue;
    for (const check of result.outcome.checks) {
      if (!check.passed) {
        failures.push(
          `${role} release ${result.release} failed ${check.name} on the migrated shadow: ${check.detail}`,
        );
      }
    }
    if (!result.outcome.passed && result.outcome.checks.every((check) => check.passed)) {
      failures.push(`${role} release ${result.release} failed its checks on the migrated shadow`);
    }
  }
  return {
    passed: failures.length === 0,
    shadow: { createMs, applyMs, dropMs, seedMs },
    seeded,
    seedError,
    applied,
    applyError,
    live,
    next,
    cutoverMs: createMs + seedMs + applyMs + dropMs,
    ...(lockReport === undefined ? {} : { lockReport }),
    failures,
  };
}

/**
 * One release's checks as one runner: each of `runners` in turn (e.g. the compat command, then
 * the smoke checks on instances started on the shadow), all their results in one outcome.
 */
export function combineChecks(...runners: readonly CompatCheckRunner[]): CompatCheckRunner {
  return async (shadowUrl) => {
    const checks: CheckResult[] = [];
    let passed = true;
    for (const runner of runners) {
      const outcome = await runChecks(runner, shadowUrl, () => performance.now());
      checks.push(...outcome.checks);
      passed &&= outcome.passed;
    }
    return { passed, checks };
  };
}

/** Applies one file at a time, with a table snapshot before the first and after each. */
async function applyInspected(
  target: MigrationTarget,
  files: readonly MigrationFile[],
  options: ApplyOptions,
  inspector: ShadowTableInspector,
): Promise<{ applied: string[]; lockReport: FileLockReport[] }> {
  const applied: string[] = [];
  const lockReport: FileLockReport[] = [];
  let before = await inspector.snapshot(target.url);
  for (const file of files) {
    const rows = await target.apply([file], options);
    applied.push(...rows.map((row) => row.name));
    const after = await inspector.snapshot(target.url);
    const rewrittenTables = [...before]
      .filter(([table, storage]) => after.has(table) && after.get(table) !== storage)
      .map(([table]) => table)
      .sort();
    const statements = attributeRewrites(await describeStatementLocks(file.sql), rewrittenTables);
    lockReport.push({ file: file.name, statements, rewrittenTables });
    before = after;
  }
  return { applied, lockReport };
}

/** Pins each rewritten table on the one statement of the file that touched it, when only one did. */
function attributeRewrites(
  statements: readonly StatementLock[],
  rewrittenTables: readonly string[],
): StatementLockReport[] {
  // The parser gives names as written (`orders`); the snapshot qualifies them (`public.orders`).
  const rewritten = (table: string | null): string | undefined =>
    table === null
      ? undefined
      : rewrittenTables.find((name) => name === table || name.endsWith(`.${table}`));
  // Only a statement under ACCESS EXCLUSIVE (or of unknown lock) can give a table new storage.
  const mayRewrite = (statement: StatementLock): string | undefined =>
    statement.lock === 'ACCESS EXCLUSIVE' || statement.lock === null
      ? rewritten(statement.table)
      : undefined;
  return statements.map((statement) => {
    const table = mayRewrite(statement);
    if (table === undefined) return { ...statement, rewrote: false };
    const candidates = statements.filter((other) => mayRewrite(other) === table).length;
    return { ...statement, rewrote: candidates === 1 ? true : null };
  });
}

/** A runner that throws counts as a failed check, so one broken check never hides the other. */
async function runChecks(
  runner: CompatCheckRunner,
  url: string,
  now: () => number,
): Promise<CheckOutcome> {
  const started = now();
  try {
    return await runner(url);
  } catch (error) {
    const durationMs = now() - started;
    return {
      passed: false,
      checks: [{ name: 'its compat checks', passed: false, detail: messageOf(error), durationMs }],
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
