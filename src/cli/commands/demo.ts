// `cutover demo`: the whole blue-green story on the bundled shop example, with a report. It starts
// its own daemon (child process) whose process runtime starts the instances, and stops them all
// on the way out, Ctrl-C included.
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { DEFAULT_DEMO_OPTIONS, DEMO_STAGES, runDemo } from '../demo/run-demo.ts';
import type { DemoStage } from '../demo/run-demo.ts';
import { formatDemoReport } from '../demo/demo-report.ts';
import { parsePositiveInteger } from '../parse-lists.ts';

const MAX_RATE_PER_SECOND = 10_000;
const MIN_CONCURRENCY = 3;
const MAX_CONCURRENCY = 256;

interface DemoFlags {
  readonly until?: DemoStage;
  readonly rate?: number;
  readonly connections?: number;
}

function parseStage(text: string): DemoStage {
  const stage = DEMO_STAGES.find((name) => name === text);
  if (stage === undefined) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--until must be one of ${DEMO_STAGES.join(', ')}, got "${text}"`,
    );
  }
  return stage;
}

/** One client opens a new connection per request and one places orders: at least 3 for all kinds. */
function parseConnections(text: string): number {
  const n = parsePositiveInteger(text, '--connections', MAX_CONCURRENCY);
  if (n < MIN_CONCURRENCY) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--connections must be at least ${MIN_CONCURRENCY} (new connections, orders and keep-alive GETs), got ${n}`,
    );
  }
  return n;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description(
      'run the whole story on the bundled shop example in a temporary data dir: deploy v1, v2 under load, a rollback drill, a broken v3 (refused), a v4 that fails under traffic (rolled back), a v5 whose migration the linter blocks, a v6 whose migration breaks v2 on the shadow (both refused); then a report',
    )
    .option(
      '--until <stage>',
      `stop the story after this stage: ${DEMO_STAGES.join(', ')} (default ${DEFAULT_DEMO_OPTIONS.until})`,
      parseStage,
    )
    .option(
      '--rate <n>',
      `load: requests per second (default ${DEFAULT_DEMO_OPTIONS.ratePerSecond})`,
      (v) => parsePositiveInteger(v, '--rate', MAX_RATE_PER_SECOND),
    )
    .option(
      '--connections <n>',
      `load: concurrent clients, at least ${MIN_CONCURRENCY} (default ${DEFAULT_DEMO_OPTIONS.concurrency})`,
      parseConnections,
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
            ...(flags.until === undefined ? {} : { until: flags.until }),
            ...(flags.rate === undefined ? {} : { ratePerSecond: flags.rate }),
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
