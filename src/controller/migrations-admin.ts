// `cutover migrations plan|status|contract` (issue 4): what a release would apply, what the live
// one has, and the contract phase, which runs only once no color still uses the old schema: by
// the command, or by the daemon right after the standby is retired (`migrations.contract: auto`).
import { join } from 'node:path';
import type { Logger } from 'pino';
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
} from '../client/api-types.ts';
import { parseAppConfigText } from '../config/load-app-config.ts';
import { validateReleaseId } from '../core/app-state.ts';
import { parseDatabaseUrl } from '../core/database-url.ts';
import { CutoverError, isCutoverError } from '../core/errors.ts';
import { COLORS } from '../core/types.ts';
import type { AppState } from '../core/types.ts';
import { planMigrations, readMigrationDir } from '../migrations/migration-dir.ts';
import type { MigrationTarget } from '../ports/database.ts';
import { resolveDatabaseUrl } from './schema-steps.ts';
import type { SchemaRelease } from './schema-steps.ts';

export interface MigrationsAdminDeps {
  readonly openDatabase: (url: string) => Promise<MigrationTarget>;
  readonly environment?: NodeJS.ProcessEnv;
}

/** The URL for people: the password, if any, replaced. */
function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function openFor(
  deps: MigrationsAdminDeps,
  release: SchemaRelease,
): Promise<{ target: MigrationTarget; url: string }> {
  const url = await resolveDatabaseUrl(release, deps.environment);
  if (url === null) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `The cutover.yaml of ${release.release} declares no database: add database.url to use migrations.`,
      { field: 'database' },
    );
  }
  return { target: await deps.openDatabase(url), url };
}

/** What `release` would apply; with the app's state (status), what holds the contract files. */
export async function planRelease(
  deps: MigrationsAdminDeps,
  app: string,
  release: SchemaRelease,
  state?: AppState,
): Promise<MigrationsPlanResponse> {
  const { target, url } = await openFor(deps, release);
  try {
    const files = await readMigrationDir(join(release.dir, release.config.migrations.dir));
    const applied = await target.applied();
    const plan = planMigrations(files, applied);
    const parsed = parseDatabaseUrl(url);
    return {
      app,
      release: release.release,
      dialect: parsed instanceof Error ? 'postgres' : parsed.dialect,
      database: shownUrl(url),
      applied: applied.map(({ name, phase, appliedAt, release: by }) => ({
        name,
        phase,
        appliedAt,
        release: by,
      })),
      pending: plan.pending.map((file) => file.name),
      contractPending: plan.contractPending.map((file) => file.name),
      changed: plan.changed.map((each) => each.file.name),
      ...(state === undefined
        ? {}
        : {
            contract: {
              mode: release.config.migrations.contract,
              heldBy: contractHeldBy(state),
            },
          }),
    };
  } finally {
    await target.close();
  }
}

export function releaseFromRequest(app: string, req: MigrationsPlanRequest): SchemaRelease {
  validateReleaseId(req.release);
  const config = parseAppConfigText(req.config, req.configPath ?? 'cutover.yaml');
  if (config.app !== app) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${req.configPath ?? 'cutover.yaml'} is for app "${config.app}", not "${app}".`,
      { field: 'app' },
    );
  }
  return { release: req.release, dir: req.dir, config };
}

/**
 * Applies the live release's contract migrations. Refused while a standby exists: it may
 * still use what the contract removes, and a rollback must never need a down-migration.
 */
export async function contractLive(
  deps: MigrationsAdminDeps,
  app: AppState,
  live: SchemaRelease,
): Promise<MigrationsContractResponse> {
  if (app.standby !== null) {
    const standby = app.environments[app.standby].release?.id ?? 'a release';
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE',
      `App "${app.name}" still has a standby (${standby} on ${app.standby}) that may use the old schema: contract migrations run once it is retired (standby.after: stop, after the rollback window).`,
      { app: app.name, standby: app.standby },
    );
  }
  const { target } = await openFor(deps, live);
  const started = performance.now();
  try {
    const files = await readMigrationDir(join(live.dir, live.config.migrations.dir));
    const plan = planMigrations(files, await target.applied());
    if (plan.changed.length > 0) {
      throw new CutoverError(
        'CUTOVER_ERR_MIGRATION_CHECKSUM',
        `Applied migrations were edited since: ${plan.changed.map((each) => each.file.name).join(', ')}.`,
      );
    }
    const { lockTimeoutMs, statementTimeoutMs, retries } = live.config.migrations;
    // One file at a time, for each one's duration; a failure keeps the files before it applied.
    const done: { name: string; durationMs: number }[] = [];
    for (const file of plan.contractPending) {
      const fileStarted = performance.now();
      const applied = await target.apply([file], {
        release: live.release,
        lockTimeoutMs,
        statementTimeoutMs,
        retries,
      });
      const durationMs = Math.round(performance.now() - fileStarted);
      for (const row of applied) done.push({ name: row.name, durationMs });
    }
    return {
      app: app.name,
      release: live.release,
      applied: done.map((file) => file.name),
      durationMs: Math.round(performance.now() - started),
      files: done,
    };
  } finally {
    await target.close();
  }
}

export interface RetiredContractDeps {
  /** Absent when the daemon cannot open databases: nothing is run then. */
  readonly openDatabase?: ((url: string) => Promise<MigrationTarget>) | undefined;
  readonly environment?: NodeJS.ProcessEnv | undefined;
  readonly logger: Logger;
  /** The app's state now (after the retirement). */
  readonly appState: () => AppState | undefined;
  /** The live release with the folder and config it was deployed with. */
  readonly liveRelease: () => Promise<SchemaRelease | null>;
  /** Records an event in the app's history and event stream. */
  readonly record: (type: string, data: Record<string, unknown>) => Promise<void>;
}

/** Why the contract phase does not run for `app` now, or null when it may. */
function contractHeldBy(app: AppState): string | null {
  if (app.live === null) return 'no color is live';
  if (app.standby !== null) {
    const standby = app.environments[app.standby].release?.id ?? 'a release';
    return `the standby ${standby} on ${app.standby} may still use the old schema`;
  }
  const other = COLORS.find(
    (color) => color !== app.live && app.environments[color].release !== null,
  );
  if (other === undefined) return null;
  return `${app.environments[other].release?.id ?? 'a release'} is still placed on ${other}`;
}

/**
 * Runs the live release's pending contract migrations once the standby is retired
 * (`migrations.contract: auto`), through the same code as `cutover migrations contract`. Called
 * once per retirement, with the app's lock held: a failure is recorded (history, event stream)
 * and logged, never thrown and never retried; the command can run the files later.
 */
export async function contractAfterRetirement(deps: RetiredContractDeps): Promise<void> {
  const app = deps.appState();
  if (app === undefined || deps.openDatabase === undefined || contractHeldBy(app) !== null) return;
  let release: string | null = null;
  try {
    const live = await deps.liveRelease();
    if (live === null || live.config.database === null) return;
    if (live.config.migrations.contract !== 'auto') return;
    release = live.release;
    const admin: MigrationsAdminDeps = {
      openDatabase: deps.openDatabase,
      ...(deps.environment === undefined ? {} : { environment: deps.environment }),
    };
    const result = await contractLive(admin, app, live);
    if (result.applied.length === 0) return;
    await deps.record('migrations-contracted', {
      actor: 'the daemon (the standby was retired)',
      ...result,
    });
    deps.logger.info(
      { app: app.name, release: result.release, applied: result.applied },
      'applied the contract migrations after the standby was retired',
    );
  } catch (error) {
    const code = isCutoverError(error) ? error.code : 'CUTOVER_ERR_MIGRATION_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error(
      { err: error, app: app.name, release },
      'the contract migrations after the standby retirement failed; run `cutover migrations contract` once the cause is fixed',
    );
    await deps
      .record('migrations-contract-failed', {
        actor: 'the daemon (the standby was retired)',
        release,
        code,
        message,
      })
      .catch((recordError: unknown) => {
        deps.logger.error({ err: recordError, app: app.name }, 'could not record the failure');
      });
  }
}
