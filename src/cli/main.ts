// The cutover CLI: a thin client of the daemon's admin API. Commands parse, call and print; every
// error is mapped to an exit code at the one catch in `runCli` (0 ok, 1 refused or failed, 2 usage).
import { Command, CommanderError, Option } from 'commander';
import { CutoverError, isCutoverError } from '../core/errors.ts';
import { createCliContext } from './cli-context.ts';
import { CLI_VERSION } from './cli-version.ts';
import type { CliContext, CliIo } from './cli-context.ts';

type RegisterCommand = (program: Command, ctx: CliContext) => void;

// Each command's module loads only when that command runs: loading them all (zod, yaml, undici
// behind init, deploy and demo) cost about 100 ms on every start, and `cutover rollback` must
// finish in well under 100 ms (QUALITY.md rollback). Help and unknown commands load them all.
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<RegisterCommand>]> = [
  ['init', async () => (await import('./commands/init.ts')).registerInitCommand],
  ['deploy', async () => (await import('./commands/deploy.ts')).registerDeployCommand],
  ['flip', async () => (await import('./commands/flip.ts')).registerFlipCommand],
  ['rollback', async () => (await import('./commands/rollback.ts')).registerRollbackCommand],
  ['abort', async () => (await import('./commands/abort.ts')).registerAbortCommand],
  ['promote', async () => (await import('./commands/promote.ts')).registerPromoteCommand],
  ['drill', async () => (await import('./commands/drill.ts')).registerDrillCommand],
  ['status', async () => (await import('./commands/status.ts')).registerStatusCommand],
  ['history', async () => (await import('./commands/history.ts')).registerHistoryCommand],
  ['demo', async () => (await import('./commands/demo.ts')).registerDemoCommand],
  ['migrations', async () => (await import('./commands/migrations.ts')).registerMigrationsCommand],
  ['drift', async () => (await import('./commands/drift.ts')).registerDriftCommand],
  ['daemon', async () => (await import('./commands/daemon.ts')).registerDaemonHelpEntry],
];

/** The global options that take a value: the command name is the first other word. */
const GLOBAL_VALUE_OPTIONS = new Set(['--data-dir', '--admin-url', '--admin-token']);

/** The command `argv` runs, or undefined (no command, help, or a word commander will refuse). */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    // The program's own help lists every command.
    if (arg === '--' || arg === '-h' || arg === '--help') return undefined;
    if (GLOBAL_VALUE_OPTIONS.has(arg)) i += 1;
    else if (!arg.startsWith('-')) {
      return COMMANDS.some(([name]) => name === arg) ? arg : undefined;
    }
  }
  return undefined;
}

const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY;
  },
  get columns() {
    return process.stdout.columns;
  },
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    return () => void process.off('SIGINT', handler);
  },
};

/** The program with the command `argv` names, or every command when it names none. */
export async function createProgram(ctx: CliContext, argv: readonly string[]): Promise<Command> {
  const io = ctx.io;
  const program = new Command('cutover')
    .description(
      'Blue-green deployment for services on your own hosts: one atomic flip, zero dropped requests.',
    )
    .version(CLI_VERSION)
    .addOption(
      new Option('--data-dir <dir>', 'data directory of the daemon (its admin.sock)')
        .env('CUTOVER_DATA_DIR')
        .default('.cutover'),
    )
    .addOption(
      new Option('--admin-url <url>', 'reach the admin API over loopback TCP instead').env(
        'CUTOVER_ADMIN_URL',
      ),
    )
    .addOption(
      new Option(
        '--admin-token <token>',
        'bearer token for --admin-url (prefer the env var: flags show in ps)',
      ).env('CUTOVER_ADMIN_TOKEN'),
    )
    .option(
      '--json',
      'machine output: the admin API JSON; errors as { "error": { code, message } }',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      // Usage errors are printed once, in our format, by the catch in runCli.
      outputError: () => undefined,
    })
    .configureHelp({ showGlobalOptions: true });
  const only = commandNameOf(argv);
  const wanted = COMMANDS.filter(([name]) => only === undefined || name === only);
  const registers = await Promise.all(wanted.map(([, load]) => load()));
  for (const register of registers) register(program, ctx);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: () => undefined,
    });
  }
  return program;
}

/** Runs one CLI invocation; resolves to the process exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  // Read from the raw argv: a usage error can happen before commander has parsed --json.
  const json = argv.includes('--json');
  const ctx = createCliContext(io);
  try {
    await (await createProgram(ctx, argv)).parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return reportError(toCliError(error), io, json);
  }
}

/** Commander's help/version exits are successes; its parse errors are usage errors. */
function toCliError(error: unknown): CutoverError | number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    if (error.code === 'commander.help' && error.exitCode === 0) return 0;
    if (error.code === 'commander.help') return 2;
    const message = error.message.replace(/^error: /, '').replace(/\.$/, '');
    return new CutoverError('CUTOVER_ERR_USAGE', `${message}; see \`cutover --help\``);
  }
  if (isCutoverError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CutoverError('CUTOVER_ERR_INTERNAL', `unexpected error: ${message}`);
}

function reportError(error: CutoverError | number, io: CliIo, json: boolean): number {
  if (typeof error === 'number') return error;
  if (json) {
    io.out(`${JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2)}\n`);
  } else {
    io.err(`cutover: ${error.message} (${error.code})\n`);
  }
  return error.exitCode;
}
