// `cutover migrations plan|status|contract` (issue 4): what a release would apply, what the live
// one has, and the contract phase, which runs only once no color still uses the old schema.
import { join } from 'node:path';
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
} from '../client/api-types.ts';
import { parseAppConfigText } from '../config/load-app-config.ts';
import { validateReleaseId } from '../core/app-state.ts';
import { parseDatabaseUrl } from '../core/database-url.ts';
import { CutoverError } from '../core/errors.ts';
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

export async function planRelease(
  deps: MigrationsAdminDeps,
  app: string,
  release: SchemaRelease,
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
    const applied = await target.apply(plan.contractPending, {
      release: live.release,
      lockTimeoutMs,
      statementTimeoutMs,
      retries,
    });
    return {
      app: app.name,
      release: live.release,
      applied: applied.map((row) => row.name),
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await target.close();
  }
}
