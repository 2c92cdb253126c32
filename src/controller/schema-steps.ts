// The schema steps of the pipeline (issue 4; DESIGN.md steps 4 and 6): before anything starts,
// lint the release's pending expand migrations and run the compat checks of the live release
// and of the new one against a migrated shadow copy; after the new instances are healthy, apply
// those migrations to the real database. Nothing touches production before both versions
// passed on the shadow.
import { join, relative } from 'node:path';
import type { DeploymentReport } from '../client/api-types.ts';
import { resolveAppEnv } from '../config/resolve-app-env.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { MigrationFile } from '../core/migration-file.ts';
import { parseDatabaseUrl } from '../core/database-url.ts';
import { lintMigrations } from '../migrations/lint/lint-sql.ts';
import { planMigrations, readMigrationDir } from '../migrations/migration-dir.ts';
import type { MigrationPlan } from '../migrations/migration-dir.ts';
import { createCommandCheck } from '../migrations/shadow/command-check.ts';
import type { CheckOutcome, CompatCheckRunner } from '../migrations/shadow/compat-check.ts';
import { runCompatCheck } from '../migrations/shadow/compat-check.ts';
import { createPgTableInspector } from '../migrations/shadow/pg-table-inspector.ts';
import type { MigrationTarget } from '../ports/database.ts';

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

const PASSED_WITHOUT_CHECK: CheckOutcome = { passed: true, checks: [] };

/** Lint, then the shadow check of both releases. */
export async function checkSchema(ctx: SchemaStepContext): Promise<DeploymentEvent> {
  const at = ctx.nowIso;
  const url = await resolveDatabaseUrl(ctx.next, ctx.environment);
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
    const next = commandCheck(ctx.next, ctx.environment);
    const live = ctx.live === null ? null : commandCheck(ctx.live, ctx.environment);
    ctx.waiting('applying the migrations to a shadow copy and running both releases\u2019 checks');
    const compat = await runCompatCheck({
      target,
      files: pending,
      release: ctx.next.release,
      liveRelease: ctx.live?.release ?? null,
      checks: {
        next: next ?? (() => Promise.resolve(PASSED_WITHOUT_CHECK)),
        ...(live === null ? {} : { live }),
      },
      apply: {
        lockTimeoutMs: ctx.next.config.migrations.lockTimeoutMs,
        statementTimeoutMs: ctx.next.config.migrations.statementTimeoutMs,
      },
      // Postgres: which lock each statement takes, and which tables it rewrote, on the shadow.
      ...(target.dialect === 'postgres' ? { inspector: createPgTableInspector() } : {}),
    });
    const missing: string[] = [];
    if (next === null) missing.push(`${ctx.next.release} has no migrations.compat.command`);
    if (ctx.live !== null && live === null) {
      missing.push(`the live release ${ctx.live.release} has no migrations.compat.command`);
    }
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
