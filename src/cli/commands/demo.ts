// `cutover demo`: the whole blue-green story on the bundled example app, with a report. It starts
// its own daemon and instances (child processes) and stops them on the way out, Ctrl-C included.
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { DEFAULT_DEMO_OPTIONS, runDemo } from '../demo/run-demo.ts';
import { formatDemoReport } from '../demo/demo-report.ts';
import { parsePositiveInteger } from '../parse-lists.ts';

const MAX_FLIPS = 1_000;
const MAX_REQUESTS = 1_000_000;
const MAX_CONCURRENCY = 256;

interface DemoFlags {
  readonly flips?: number;
  readonly requests?: number;
  readonly connections?: number;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description(
      'run the whole story on the bundled example app in a temporary data dir: deploy, flip under load, roll back, report',
    )
    .option('--flips <n>', `rollbacks under load (default ${DEFAULT_DEMO_OPTIONS.flips})`, (v) =>
      parsePositiveInteger(v, '--flips', MAX_FLIPS),
    )
    .option(
      '--requests <n>',
      `at least this many requests (default ${DEFAULT_DEMO_OPTIONS.minRequests})`,
      (v) => parsePositiveInteger(v, '--requests', MAX_REQUESTS),
    )
    .option(
      '--connections <n>',
      `concurrent clients (default ${DEFAULT_DEMO_OPTIONS.concurrency})`,
      (v) => parsePositiveInteger(v, '--connections', MAX_CONCURRENCY),
    )
    .action(async (flags: DemoFlags, command: Command) => {
      const json = ctx.globals(command).json;
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const report = await runDemo(
          {
            ...DEFAULT_DEMO_OPTIONS,
            ...(flags.flips === undefined ? {} : { flips: flags.flips }),
            ...(flags.requests === undefined ? {} : { minRequests: flags.requests }),
            ...(flags.connections === undefined ? {} : { concurrency: flags.connections }),
          },
          (line) => {
            if (!json) ctx.io.err(`${line}\n`);
          },
          controller.signal,
        );
        ctx.print(command, report, () => formatDemoReport(report));
        if (!report.ok) ctx.setExitCode(1);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
