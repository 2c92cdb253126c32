// `cutover drill [app] [--objective 1s]`: rehearses a rollback (flip to the standby, verify it
// with probes, flip forward, verify again) and reports the recovery time against the objective.
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { formatDrillReport } from '../format-drill.ts';
import { parseDuration } from '../parse-duration.ts';
import { resolveAppName } from '../resolve-app.ts';

export function registerDrillCommand(program: Command, ctx: CliContext): void {
  program
    .command('drill')
    .description('rehearse a rollback: flip to the standby, verify, flip forward; report the RTO')
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .option(
      '--objective <duration>',
      "the RTO to meet, e.g. 1s (default: the app's rto in cutover.yaml)",
      (v) => parseDuration(v, '--objective'),
    )
    .action(async (app: string | undefined, flags: { objective?: number }, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover drill <app>');
      const json = ctx.globals(command).json;
      if (!json) {
        ctx.io.out(
          `${name}: drilling: flip to the standby, verify, flip forward, verify (two probe windows)\n`,
        );
      }
      const report = await client.drill(
        name,
        flags.objective === undefined
          ? {}
          : { objectiveMs: Math.max(1, Math.round(flags.objective)) },
      );
      if (json) {
        ctx.io.out(`${JSON.stringify(report, null, 2)}\n`);
        if (!report.passed) ctx.setExitCode(1);
        return;
      }
      ctx.io.out(`${formatDrillReport(report)}\n`);
      if (!report.passed) {
        throw new CutoverError(
          'CUTOVER_ERR_DRILL_FAILED',
          `${name}: the drill did not pass: ${report.reason ?? 'see the report above'}`,
          { app: name },
        );
      }
    });
}
