// `cutover promote [app] [--no-wait]` (issue 5): the app's running canary skips its remaining
// steps and flips to the new release (then verify, drain, standby as for blue-green). Waits for
// the deployment to end and prints how it ended; refused unless a canary of the app is shifting.
import type { Command } from 'commander';
import type { DeploymentView } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { followTakenDeployment } from '../follow-taken.ts';
import { resolveAppName } from '../resolve-app.ts';

interface PromoteFlags {
  readonly wait: boolean;
}

export function registerPromoteCommand(program: Command, ctx: CliContext): void {
  program
    .command('promote')
    .description("skip the running canary's remaining steps: flip the app to the new release now")
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .option('--no-wait', 'return once the promote is taken, without waiting for the flip')
    .action(async (app: string | undefined, flags: PromoteFlags, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover promote <app>');
      const taken = await client.promoteApp(name);
      await followTakenDeployment(ctx, command, taken, {
        wait: flags.wait,
        taken: describePromote(taken),
        goesOn: `the promoted deployment ${taken.id}`,
        expectOutcome: 'succeeded',
      });
    });
}

export function describePromote(view: DeploymentView): string {
  const head = `${view.app} ${view.release}: deployment ${view.id}`;
  if (view.ended) return `${head} has ended: ${view.outcome ?? view.step}`;
  return `${head}: promote taken; the remaining canary steps are skipped and ${view.to ?? 'the new color'} takes all traffic`;
}
