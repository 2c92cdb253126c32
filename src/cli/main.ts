// The cutover CLI: a thin client of the daemon's admin API. Commands parse, call and print; every
// error is mapped to an exit code at the one catch in `runCli` (0 ok, 1 refused or failed, 2 usage).
import { Command, CommanderError, Option } from 'commander';
import { CutoverError, isCutoverError } from '../core/errors.ts';
import { createCliContext } from './cli-context.ts';
import { CLI_VERSION } from './cli-version.ts';
import type { CliContext, CliIo } from './cli-context.ts';
import { registerAbortCommand } from './commands/abort.ts';
import { registerDaemonHelpEntry } from './commands/daemon.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerDeployCommand } from './commands/deploy.ts';
import { registerDrillCommand } from './commands/drill.ts';
import { registerFlipCommand } from './commands/flip.ts';
import { registerHistoryCommand } from './commands/history.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerRollbackCommand } from './commands/rollback.ts';
import { registerStatusCommand } from './commands/status.ts';

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

export function createProgram(ctx: CliContext): Command {
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
  registerInitCommand(program, ctx);
  registerDeployCommand(program, ctx);
  registerFlipCommand(program, ctx);
  registerRollbackCommand(program, ctx);
  registerAbortCommand(program, ctx);
  registerDrillCommand(program, ctx);
  registerStatusCommand(program, ctx);
  registerHistoryCommand(program, ctx);
  registerDemoCommand(program, ctx);
  registerDaemonHelpEntry(program);
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
    await createProgram(ctx).parseAsync(argv, { from: 'user' });
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
