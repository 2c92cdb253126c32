// The schema steps of the pipeline (issue 4; DESIGN.md steps 4 and 6): before anything starts,
// lint the release's pending expand migrations and run the compat checks of the live release
// and of the new one against a migrated shadow copy; after the new instances are healthy, apply
// those migrations to the real database. Nothing touches production before both versions
// passed on the shadow.
import { join, relative } from 'node:path';
import type { DeploymentReport } from '../client/api-types.ts';
import { toProcessStartSpec } from '../config/process-start-spec.ts';
import { resolveAppEnv } from '../config/resolve-app-env.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { MigrationFile } from '../core/migration-file.ts';
import { parseDatabaseUrl } from '../core/database-url.ts';
import { lintMigrations } from '../migrations/lint/lint-sql.ts';
import { planMigrations, readMigrationDir } from '../migrations/migration-dir.ts';
import type { MigrationPlan } from '../migrations/migration-dir.ts';
import { createCommandCheck } from '../migrations/shadow/command-check.ts';
import type {
  CheckOutcome,
  CompatCheckRunner,
  ReleaseOutcome,
} from '../migrations/shadow/compat-check.ts';
import { combineChecks, runCompatCheck } from '../migrations/shadow/compat-check.ts';
import { createPgShadowSeeder } from '../migrations/shadow/pg-shadow-seeder.ts';
import { createPgTableInspector } from '../migrations/shadow/pg-table-inspector.ts';
import { createShadowSmokeCheck } from '../migrations/shadow/shadow-smoke-check.ts';
import { createWritesCheck, readWritesFile } from '../migrations/shadow/writes-check.ts';
import type { WritesFile } from '../migrations/shadow/writes-check.ts';
import type { DatabaseDialect, MigrationTarget } from '../ports/database.ts';

/** A release as the schema steps see it: its folder and its cutover.yaml. */
export interface SchemaRelease {
  readonly release: string;
  readonly dir: string;
  readonly config: AppConfig;
}

export interface SchemaStepContext {
  readonly app: string;
  readonly next: SchemaRelease;
  /** The release serving now (its own folder and config); null on a first deployment. */
  readonly live: SchemaRelease | null;
  readonly openDatabase: (url: string) => Promise<MigrationTarget>;
  readonly environment?: NodeJS.ProcessEnv;
  /** Where work left running after the step (the shadow template's refresh) reports a failure. */
  readonly logger?: { warn(details: object, message: string): void };
  /** The deployment's abort: stops the shadow instances' health wait and smoke checks early. */
  readonly signal?: AbortSignal;
  readonly nowIso: () => string;
  readonly waiting: (text: string | null) => void;
  readonly report: (patch: Partial<DeploymentReport>) => Promise<void>;
}

/** The database URL of a release's config, its secret references resolved; null: no database. */
export async function resolveDatabaseUrl(
  release: SchemaRelease,
  environment?: NodeJS.ProcessEnv,
): Promise<string | null> {
  const database = release.config.database;
  if (database === null) return null;
  const resolved = await resolveAppEnv(
    { [database.env]: database.url },
    { releaseDir: release.dir, ...(environment === undefined ? {} : { environment }) },
  );
  const url = resolved[database.env];
  if (url === undefined || parseDatabaseUrl(url) instanceof Error) {
    throw new Error(`database.url of ${release.release} does not resolve to a database URL`);
  }
  return url;
}

async function planOf(
  target: MigrationTarget,
  release: SchemaRelease,
): Promise<{ plan: MigrationPlan; files: readonly MigrationFile[] }> {
  const files = await readMigrationDir(join(release.dir, release.config.migrations.dir));
  const applied = await target.applied();
  return { plan: planMigrations(files, applied), files };
}

function commandCheck(
  release: SchemaRelease,
  environment: NodeJS.ProcessEnv | undefined,
): CompatCheckRunner | null {
  const { command } = release.config.migrations.compat;
  const database = release.config.database;
  if (command === null || database === null) return null;
  return createCommandCheck({
    command,
    cwd: release.dir,
    urlEnv: database.env,
    ...(environment === undefined ? {} : { env: environment }),
  });
}

/** One release's checks on the shadow, combined; what was left out, and its writes file. */
interface ReleaseChecks {
  readonly runner: CompatCheckRunner | null;
  readonly notes: readonly string[];
  readonly writes: WritesFile | null;
}

/**
 * The compat checks of one release, in the order they run on the shadow: its compat command,
 * its smoke checks on an instance started on the shadow, its writes in a rolled-back transaction.
 * Throws, naming the release and the key, when its smoke instance or writes file cannot be set up.
 */
async function releaseChecks(
  role: 'live' | 'new',
  release: SchemaRelease,
  app: string,
  dialect: DatabaseDialect,
  environment: NodeJS.ProcessEnv | undefined,
  signal?: AbortSignal,
): Promise<ReleaseChecks> {
  const { config } = release;
  const database = config.database;
  const runners: CompatCheckRunner[] = [];
  const notes: string[] = [];
  const command = commandCheck(release, environment);
  if (command !== null) runners.push(command);
  if (config.migrations.compat.smoke && database !== null) {
    if (config.runtime === 'external') {
      notes.push(
        `the ${role} release ${release.release} runs on the external runtime: cutover cannot start it on the shadow, so its smoke checks did not run there`,
      );
    } else {
      let env: Record<string, string>;
      try {
        env = await resolveAppEnv(config.env, {
          releaseDir: release.dir,
          ...(environment === undefined ? {} : { environment }),
        });
      } catch (error) {
        throw new Error(
          `the ${role} release ${release.release} cannot start on the shadow (migrations.compat.smoke): ${messageOf(error)}`,
          { cause: error },
        );
      }
      runners.push(
        createShadowSmokeCheck({
          release: release.release,
          app,
          spec: toProcessStartSpec(config, release.dir, env),
          urlEnv: database.env,
          health: config.health,
          smoke: config.smoke,
          host: config.hosts[0] ?? 'localhost',
          releaseDir: release.dir,
          ...(environment === undefined ? {} : { baseEnv: environment }),
          ...(signal === undefined ? {} : { signal }),
        }),
      );
    }
  }
  let writes: WritesFile | null = null;
  const writesPath = config.migrations.compat.writes;
  if (writesPath !== undefined) {
    try {
      writes = await readWritesFile(join(release.dir, writesPath), writesPath, dialect);
    } catch (error) {
      throw new Error(
        `migrations.compat.writes of the ${role} release ${release.release}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    runners.push(createWritesCheck({ file: writes, dialect }));
  }
  if (runners.length === 0) {
    notes.push(
      `the ${role} release ${release.release} has no compat check (migrations.compat.command, .smoke or .writes)`,
    );
  }
  return {
    runner: runners.length === 0 ? null : combineChecks(...runners),
    notes,
    writes,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Each check of a release's outcome, for the report. */
function checkViews(role: 'live' | 'new', result: ReleaseOutcome | null) {
  return (result?.outcome.checks ?? []).map((check) => ({
    release: result?.release ?? '',
    role,
    name: check.name,
    passed: check.passed,
    detail: check.detail,
    durationMs: Math.round(check.durationMs),
  }));
}

const PASSED_WITHOUT_CHECK: CheckOutcome = { passed: true, checks: [] };

/** Lint, then the shadow check of both releases. */
export async function checkSchema(ctx: SchemaStepContext): Promise<DeploymentEvent> {
  const at = ctx.nowIso;
  let url: string | null;
  try {
    url = await resolveDatabaseUrl(ctx.next, ctx.environment);
  } catch (error) {
    // A database the daemon cannot reach by name is the deployer's to fix, not a crash.
    return {
      type: 'SchemaRejected',
      reason:
        `the database URL of ${ctx.next.release} cannot be resolved: ${messageOf(error)}. ` +
        "Set it in the daemon's environment (or the file it names) and deploy again",
      at: at(),
    };
  }
  if (url === null) {
    await ctx.report({ schema: { skipped: 'the release declares no database', pending: [] } });
    return { type: 'SchemaChecked', at: at() };
  }
  const dialect = parseDatabaseUrl(url);
  const target = await ctx.openDatabase(url);
  try {
    ctx.waiting('reading the migration history');
    const { plan } = await planOf(target, ctx.next);
    if (plan.changed.length > 0) {
      const names = plan.changed.map((each) => each.file.name).join(', ');
      await ctx.report({
        schema: { pending: plan.pending.map((file) => file.name), changed: names },
      });
      return {
        type: 'SchemaRejected',
        reason: `applied migrations were edited since (checksum changed): ${names}; add a new migration instead`,
        at: at(),
      };
    }
    const pending = plan.pending;
    const held = plan.contractPending.map((file) => file.name);
    if (pending.length === 0) {
      await ctx.report({ schema: { pending: [], contractHeld: held } });
      return { type: 'SchemaChecked', at: at() };
    }
    ctx.waiting(`linting ${pending.length} pending migrations`);
    let lint;
    try {
      // The texts already read and checksummed: what is linted is what would be applied.
      lint = await lintMigrations(pending, {
        dialect: dialect instanceof Error ? 'postgres' : dialect.dialect,
      });
    } catch (error) {
      return {
        type: 'SchemaRejected',
        reason: `the migration linter could not read a pending migration: ${error instanceof Error ? error.message : String(error)}`,
        at: at(),
      };
    }
    const blocking = lint.findings.filter((finding) => finding.severity === 'error');
    const lintReport = {
      findings: lint.findings.map((finding) => ({
        rule: finding.rule,
        severity: finding.severity,
        path: relative(ctx.next.dir, finding.path),
        line: finding.line,
        message: finding.message,
        fix: finding.fix,
      })),
      blocking: blocking.length,
    };
    if (blocking.length > 0) {
      await ctx.report({
        schema: { pending: pending.map((file) => file.name), contractHeld: held, lint: lintReport },
      });
      const lines = blocking
        .slice(0, 5)
        .map(
          (finding) => `${finding.rule} at ${relative(ctx.next.dir, finding.path)}:${finding.line}`,
        );
      return {
        type: 'SchemaRejected',
        reason: `the migration linter blocked ${blocking.length} statement(s): ${lines.join('; ')}`,
        at: at(),
      };
    }
    let next: ReleaseChecks;
    let live: ReleaseChecks | null;
    try {
      next = await releaseChecks(
        'new',
        ctx.next,
        ctx.app,
        target.dialect,
        ctx.environment,
        ctx.signal,
      );
      live =
        ctx.live === null
          ? null
          : await releaseChecks(
              'live',
              ctx.live,
              ctx.app,
              target.dialect,
              ctx.environment,
              ctx.signal,
            );
    } catch (error) {
      await ctx.report({
        schema: { pending: pending.map((file) => file.name), contractHeld: held, lint: lintReport },
      });
      return { type: 'SchemaRejected', reason: messageOf(error), at: at() };
    }
    // The tables the releases' writes touch get a sample of the live rows on a PostgreSQL shadow
    // (a SQLite shadow is a full copy already).
    const written = [live?.writes, next.writes].flatMap((file) =>
      (file?.statements ?? []).flatMap((statement) =>
        statement.table === null ? [] : [statement.table],
      ),
    );
    ctx.waiting('applying the migrations to a shadow copy and running both releases\u2019 checks');
    const compat = await runCompatCheck({
      target,
      files: pending,
      release: ctx.next.release,
      liveRelease: ctx.live?.release ?? null,
      checks: {
        next: next.runner ?? (() => Promise.resolve(PASSED_WITHOUT_CHECK)),
        ...(live?.runner == null ? {} : { live: live.runner }),
      },
      apply: {
        lockTimeoutMs: ctx.next.config.migrations.lockTimeoutMs,
        statementTimeoutMs: ctx.next.config.migrations.statementTimeoutMs,
      },
      // Postgres: which lock each statement takes, and which tables it rewrote, on the shadow.
      ...(target.dialect === 'postgres' ? { inspector: createPgTableInspector() } : {}),
      ...(target.dialect === 'postgres' && written.length > 0
        ? { seeder: createPgShadowSeeder({ liveUrl: url, tables: written }) }
        : {}),
    });
    const missing = [...next.notes, ...(live?.notes ?? [])];
    await ctx.report({
      schema: {
        pending: pending.map((file) => file.name),
        contractHeld: held,
        lint: lintReport,
        shadow: {
          passed: compat.passed,
          createMs: Math.round(compat.shadow.createMs),
          applyMs: Math.round(compat.shadow.applyMs),
          dropMs: Math.round(compat.shadow.dropMs),
          cutoverMs: Math.round(compat.cutoverMs),
          checksMs: Math.round(
            [compat.live, compat.next]
              .flatMap((each) => each?.outcome.checks ?? [])
              .reduce((sum, check) => sum + check.durationMs, 0),
          ),
          applied: compat.applied,
          applyError: compat.applyError,
          failures: compat.failures,
          live:
            compat.live === null
              ? null
              : { release: compat.live.release, passed: compat.live.outcome.passed },
          next:
            compat.next === null
              ? null
              : { release: compat.next.release, passed: compat.next.outcome.passed },
          notChecked: missing,
          checks: [...checkViews('live', compat.live), ...checkViews('new', compat.next)],
          ...(compat.seeded === null ? {} : { seeded: compat.seeded }),
          seedMs: Math.round(compat.shadow.seedMs),
          locks: (compat.lockReport ?? []).map((file) => ({
            file: file.file,
            rewrittenTables: file.rewrittenTables,
            statements: file.statements.map((statement) => ({
              index: statement.index,
              kind: statement.kind,
              lock: statement.lock,
              table: statement.table,
              rewrote: statement.rewrote,
            })),
          })),
        },
      },
    });
    if (!compat.passed) {
      return {
        type: 'SchemaRejected',
        reason: `the shadow check failed: ${compat.failures.join('; ') || (compat.applyError ?? 'a check failed')}`,
        at: at(),
      };
    }
    return { type: 'SchemaChecked', at: at() };
  } finally {
    await target.close();
  }
}

/** The expand migrations on the real database, each file once (the history table is the journal). */
export async function migrateExpand(ctx: SchemaStepContext): Promise<DeploymentEvent> {
  const url = await resolveDatabaseUrl(ctx.next, ctx.environment);
  if (url === null) return { type: 'MigrationsApplied', at: ctx.nowIso() };
  const target = await ctx.openDatabase(url);
  try {
    const { plan } = await planOf(target, ctx.next);
    if (plan.pending.length === 0) return { type: 'MigrationsApplied', at: ctx.nowIso() };
    const { lockTimeoutMs, statementTimeoutMs, retries } = ctx.next.config.migrations;
    ctx.waiting(`applying ${plan.pending.length} expand migrations`);
    const started = performance.now();
    try {
      const applied = await target.apply(plan.pending, {
        release: ctx.next.release,
        lockTimeoutMs,
        statementTimeoutMs,
        retries,
        onProgress: (event) => {
          ctx.waiting(`migration ${event.file}: ${event.state}`);
        },
      });
      await ctx.report({
        migrate: {
          applied: applied.map((row) => row.name),
          durationMs: Math.round(performance.now() - started),
        },
      });
      // The live schema just changed: rebuild the shadow template now, off the deployment's
      // path, so the next deployment's shadow check clones it instead of rebuilding it.
      if (target.prepareShadow !== undefined) {
        void target.prepareShadow().catch((error: unknown) => {
          ctx.logger?.warn(
            { err: error, app: ctx.app },
            'could not refresh the shadow template after the migration; the next check rebuilds it',
          );
        });
      }
    } catch (error) {
      return {
        type: 'MigrationFailed',
        reason: error instanceof Error ? error.message : String(error),
        at: ctx.nowIso(),
      };
    }
    return { type: 'MigrationsApplied', at: ctx.nowIso() };
  } finally {
    await target.close();
  }
}
