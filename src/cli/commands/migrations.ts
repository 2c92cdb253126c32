// `cutover migrations <subcommand>`: migration safety. One command with a small function per
// subcommand: `lint` runs locally (no daemon); `status`, `plan` and `contract` ask the daemon,
// which holds the database URL and the live release.
//
// `cutover migrations lint [files...] [--dir D] [--format text|json|sarif] [--dialect D]
// [--outside-runner]`: files given = one run of pending migrations (tables created by one are
// new for the next); no files = every `*.sql` of D's migrations folder, each linted on its own
// (cutover cannot know here which are applied). Exit 0 clean or warnings only, 1 blocking
// findings, 2 tool error (a file that does not parse or cannot be read).
//
// `cutover migrations status [app]`: the live release's applied, pending, contract-pending and
// changed migrations. `cutover migrations plan [release] [--dir D]`: what a deployment of the
// release in D would apply (exit 1 when it would be refused: an applied file was edited).
// `cutover migrations contract [app]`: applies the live release's contract migrations; refused
// (exit 1) while a standby may still use the old schema.
import { access, readFile, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { AppConfig } from '../../core/app-config.ts';
import { parseDatabaseUrl } from '../../core/database-url.ts';
import { CutoverError } from '../../core/errors.ts';
import { APP_CONFIG_FILE_NAME, loadAppConfigFromDir } from '../../config/load-app-config.ts';
import { FINDINGS_FORMATS, formatFindings } from '../../migrations/lint/format-findings.ts';
import type { FindingsFormat } from '../../migrations/lint/format-findings.ts';
import { lintFiles, lintFolder } from '../../migrations/lint/lint-sql.ts';
import type { Dialect } from '../../migrations/lint/lint-types.ts';
import type { CliContext } from '../cli-context.ts';
import {
  formatMigrationsContract,
  formatMigrationsPlan,
  formatMigrationsStatus,
} from '../format-migrations.ts';
import { resolveAppName } from '../resolve-app.ts';

const DEFAULT_MIGRATIONS_DIR = 'migrations/';
/** The release id a plan names when none is given: it is only shown, never deployed. */
const DEFAULT_PLAN_RELEASE = 'plan';

interface LintFlags {
  readonly dir?: string;
  readonly format?: FindingsFormat;
  readonly dialect?: Dialect;
  readonly outsideRunner?: boolean;
}

export function registerMigrationsCommand(program: Command, ctx: CliContext): void {
  const migrations = program
    .command('migrations')
    .description(
      'migration safety: lint migrations, see what is applied and planned, run the contract phase',
    );
  registerLintCommand(migrations, ctx);
  registerStatusCommand(migrations, ctx);
  registerPlanCommand(migrations, ctx);
  registerContractCommand(migrations, ctx);
}

function registerStatusCommand(migrations: Command, ctx: CliContext): void {
  migrations
    .command('status')
    .description(
      "the live release's migrations: applied (phase, release, time), pending, contract pending, changed",
    )
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .action(async (app: string | undefined, _flags: unknown, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover migrations status <app>');
      const plan = await client.migrationsStatus(name);
      ctx.print(command, plan, () => formatMigrationsStatus(plan));
    });
}

interface PlanFlags {
  readonly dir?: string;
}

function registerPlanCommand(migrations: Command, ctx: CliContext): void {
  migrations
    .command('plan')
    .description(
      'what a deployment of the release in --dir would apply, and what waits for the contract phase; exit 1 if it would be refused',
    )
    .argument('[release]', `the release id to show (default: ${DEFAULT_PLAN_RELEASE})`)
    .option('--dir <dir>', `the release's folder, holding its ${APP_CONFIG_FILE_NAME} (default: .)`)
    .action(async (release: string | undefined, flags: PlanFlags, command: Command) => {
      const dir = resolve(flags.dir ?? '.');
      const { app, text, configPath } = await readReleaseConfig(dir);
      const plan = await ctx.client(command).migrationsPlan(app, {
        release: release ?? DEFAULT_PLAN_RELEASE,
        dir,
        config: text,
        configPath,
      });
      ctx.print(command, plan, () => formatMigrationsPlan(plan));
      // A deployment would be refused: say so to scripts too.
      if (plan.changed.length > 0) ctx.setExitCode(1);
    });
}

function registerContractCommand(migrations: Command, ctx: CliContext): void {
  migrations
    .command('contract')
    .description(
      "apply the live release's contract migrations; refused while a standby may still use the old schema",
    )
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .action(async (app: string | undefined, _flags: unknown, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover migrations contract <app>');
      const result = await client.migrationsContract(name);
      ctx.print(command, result, () => formatMigrationsContract(result));
    });
}

/** D/cutover.yaml, checked here (a bad one names its field and line) and sent as text. */
async function readReleaseConfig(
  dir: string,
): Promise<{ app: string; text: string; configPath: string }> {
  const configPath = join(dir, APP_CONFIG_FILE_NAME);
  try {
    await access(configPath);
  } catch {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `${configPath} not found: pass the release's folder with --dir`,
      { file: configPath },
    );
  }
  const config = await loadAppConfigFromDir(dir);
  return { app: config.app, text: await readFile(configPath, 'utf8'), configPath };
}

function registerLintCommand(migrations: Command, ctx: CliContext): void {
  migrations
    .command('lint')
    .description(
      'check migrations for changes that break the version still serving or lock tables; exit 1 on blocking findings',
    )
    .argument('[files...]', 'migration files (default: every *.sql of the migrations folder)')
    .option('--dir <dir>', `the app's folder, holding its ${APP_CONFIG_FILE_NAME} (default: .)`)
    .addOption(
      new Option('--format <format>', 'output: text, json or sarif (default: text)').choices(
        FINDINGS_FORMATS,
      ),
    )
    .addOption(
      new Option(
        '--dialect <dialect>',
        "the database's SQL dialect (default: from database.url or its env var, else postgres)",
      ).choices(['postgres', 'sqlite']),
    )
    .option(
      '--outside-runner',
      'the files run outside cutover (no lock_timeout set for them): flag DDL without one',
    )
    .action(async (files: string[], flags: LintFlags, command: Command) => {
      const format = outputFormat(flags.format, ctx.globals(command).json);
      const dir = resolve(flags.dir ?? '.');
      const config = await loadConfig(dir);
      const options = {
        dialect: flags.dialect ?? configuredDialect(config),
        outsideRunner: flags.outsideRunner === true,
      };
      // Files given are one run of pending migrations; the folder's files are linted each alone
      // (with the column types of the files before each).
      const result =
        files.length > 0
          ? await lintFiles(files, options)
          : await lintFolder(await migrationFiles(dir, config), options);
      ctx.io.out(formatFindings(result, format));
      if (result.findings.some((finding) => finding.severity === 'error')) ctx.setExitCode(1);
    });
}

/** `--json` is `--format json`; asking for both json and another format is a usage error. */
function outputFormat(format: FindingsFormat | undefined, json: boolean): FindingsFormat {
  if (!json) return format ?? 'text';
  if (format !== undefined && format !== 'json') {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--json asks for JSON but --format asks for ${format}; pass one of them`,
    );
  }
  return 'json';
}

/** D/cutover.yaml, or undefined when there is none (a bad one is an error). */
async function loadConfig(dir: string): Promise<AppConfig | undefined> {
  try {
    await access(join(dir, APP_CONFIG_FILE_NAME));
  } catch {
    return undefined;
  }
  return loadAppConfigFromDir(dir);
}

/**
 * The dialect of `database.url`: written in the config, or in the environment variable it names
 * (`{ fromEnv: NAME }`) when that is set here; else postgres.
 */
function configuredDialect(config: AppConfig | undefined): Dialect {
  const url = config?.database?.url;
  const text =
    url?.kind === 'value' ? url.value : url?.kind === 'fromEnv' ? process.env[url.name] : undefined;
  if (text === undefined) return 'postgres';
  const parsed = parseDatabaseUrl(text);
  return parsed instanceof Error ? 'postgres' : parsed.dialect;
}

/** Every `*.sql` of D's migrations folder (`migrations.dir`, default migrations/), by name. */
async function migrationFiles(dir: string, config: AppConfig | undefined): Promise<string[]> {
  const folder = resolve(dir, config?.migrations.dir ?? DEFAULT_MIGRATIONS_DIR);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_READ',
      `cannot read the migrations folder ${folder}: ${code === 'ENOENT' ? 'no such folder' : String(error)}; pass --dir with the app's folder, or set migrations.dir in its ${APP_CONFIG_FILE_NAME}`,
      { path: folder },
    );
  }
  return names
    .filter((name) => name.endsWith('.sql'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => displayPath(join(folder, name)));
}

/** Paths under the working directory are shown relative to it. */
function displayPath(file: string): string {
  const shown = relative(process.cwd(), file);
  return shown === '' || shown.startsWith('..') ? file : shown;
}
