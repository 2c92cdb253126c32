// Everything a benchmark starts registers its stop here, so peers and temp dirs go away at the
// end of the run even when it fails or is interrupted (QUALITY.md section 1: stopped at the end).

type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let running: Promise<void> | null = null;

/**
 * Registers a stop function; they run in reverse order of registration. Once the cleanup has
 * begun (an interrupt while something was starting), a late registration runs at once.
 */
export function onCleanup(cleanup: Cleanup): void {
  if (running !== null) {
    void Promise.resolve()
      .then(cleanup)
      .catch((error: unknown) => process.stderr.write(`bench: cleanup failed: ${String(error)}\n`));
    return;
  }
  cleanups.push(cleanup);
}

/** True once the cleanup has begun: results measured past this point are not to be trusted. */
export function cleanupStarted(): boolean {
  return running !== null;
}

/** Runs every registered stop function once, even if some of them throw. */
export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      try {
        await cleanup?.();
      } catch (error) {
        process.stderr.write(`bench: cleanup failed: ${String(error)}\n`);
      }
    }
  })();
  return running;
}

/**
 * Runs a benchmark's main function: stops everything on success, failure, SIGINT or SIGTERM,
 * and sets the exit code (0 ok, 1 failed, 130 interrupted). A load generator killed by the
 * cleanup rejects promises nobody awaits any more; those must not end the process before the
 * cleanup has stopped every peer, so they are reported and the cleanup goes on.
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  let stopping = false;
  const stopAndExit = (code: number): void => {
    if (stopping) return;
    stopping = true;
    void runCleanups().finally(() => process.exit(code));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench ${name}: ${signal}, stopping everything it started\n`);
    stopAndExit(130);
  };
  const onStray = (error: unknown): void => {
    if (!stopping) {
      process.stderr.write(`bench ${name} failed: ${describe(error)}\n`);
    }
    stopAndExit(stopping ? 130 : 1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  void main()
    .then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        if (!stopping) process.stderr.write(`bench ${name} failed: ${describe(error)}\n`);
        process.exitCode = 1;
      },
    )
    .finally(() => runCleanups());
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
