// `cutover daemon`: parse the flags, start the daemon, and stop it gracefully on SIGTERM/SIGINT
// within the hard deadline (QUALITY.md B5). Exit codes: 0 stopped cleanly, 1 failed, 2 usage.
import { readFileSync } from 'node:fs';
import { isCutoverError } from '../core/errors.ts';
import { createDaemonLogger } from './daemon-logger.ts';
import { DAEMON_USAGE, parseDaemonOptions, type DaemonOptions } from './daemon-options.ts';
import { startDaemon } from './daemon.ts';

function fail(message: string, exitCode: 1 | 2): never {
  process.stderr.write(`cutover daemon: ${message}\n`);
  process.exit(exitCode);
}

function parse(argv: string[]): DaemonOptions {
  try {
    const parsed = parseDaemonOptions(argv, process.env, (path) => readFileSync(path, 'utf8'));
    if (parsed.help) {
      process.stdout.write(DAEMON_USAGE);
      process.exit(0);
    }
    return parsed.options;
  } catch (error) {
    if (isCutoverError(error)) fail(error.message, error.exitCode);
    throw error;
  }
}

export async function runDaemonCli(argv: string[]): Promise<void> {
  const options = parse(argv);
  const { logger, flush } = createDaemonLogger(options.logLevel, options.logFile);
  const exit = (code: number): never => {
    flush();
    process.exit(code);
  };

  let daemon;
  try {
    daemon = await startDaemon(options, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'daemon failed to start');
    flush();
    if (isCutoverError(error)) fail(`${error.message} (${error.code})`, error.exitCode);
    fail(`could not start: ${(error as Error).message}`, 1);
  }
  const running = daemon;
  process.stdout.write(`${running.readyLine}\n`);

  let stopping = false;
  const stop = (reason: string, code: number): void => {
    if (stopping) {
      logger.warn({ reason }, 'second stop request: exiting now');
      exit(1);
    }
    stopping = true;
    logger.info({ reason, deadlineMs: options.shutdownTimeoutMs }, 'daemon stopping');
    // The hard deadline: whatever hangs, the process ends in time.
    const hardStop = setTimeout(() => {
      logger.error({ reason }, 'graceful stop missed the deadline: exiting');
      exit(1);
    }, options.shutdownTimeoutMs);
    running
      .stop()
      .then(() => {
        clearTimeout(hardStop);
        logger.info({ reason }, 'daemon stopped');
        exit(code);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'daemon stop failed');
        exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    stop('unhandled rejection', 1);
  });
}
