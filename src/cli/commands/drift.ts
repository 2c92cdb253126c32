// `cutover drift [app]`: the drift report between the app's colors at any time (their latest
// snapshots, the live one taken now) and what changed on the live color in place since it
// started. Exit 0 no drift, 1 drift found, 2 usage.
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { driftKeys, formatDriftReport } from '../format-drift.ts';
import { resolveAppName } from '../resolve-app.ts';

export function registerDriftCommand(program: Command, ctx: CliContext): void {
  program
    .command('drift')
    .description("drift report: the colors' config snapshots diffed, and in-place changes of live")
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .action(async (app: string | undefined, _flags: unknown, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover drift <app>');
      const report = await client.drift(name);
      if (ctx.globals(command).json) {
        ctx.io.out(`${JSON.stringify(report, null, 2)}\n`);
        if (report.drift) ctx.setExitCode(1);
        return;
      }
      ctx.io.out(`${formatDriftReport(report)}\n`);
      if (report.drift) {
        const keys = driftKeys(report);
        throw new CutoverError(
          'CUTOVER_ERR_DRIFT_FOUND',
          `${name}: drift found in ${keys.join(', ')}: fix the environment, or add the keys to drift.expect (docs/drift.md)`,
          { app: name, keys },
        );
      }
    });
}
