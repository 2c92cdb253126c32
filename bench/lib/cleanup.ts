// Everything a benchmark starts registers its stop here, so peers and temp dirs go away at the
// end of the run even when it fails or is interrupted (QUALITY.md section 1: stopped at the end).

type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
let running: Promise<void> | null = null;

/** Registers a stop function; they run in reverse order of registration. */
export function onCleanup(cleanup: Cleanup): void {
  cleanups.push(cleanup);
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
 * and sets the exit code (0 ok, 1 failed).
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench ${name}: ${signal}, stopping everything it started\n`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void main()
    .then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(
          `bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exitCode = 1;
      },
    )
    .finally(() => runCleanups());
}
