// `cutover promote [app] [--no-wait]` (issue 5): the app's running canary skips its remaining
// steps and flips to the new release (then verify, drain, standby as for blue-green). Waits for
// the deployment to end and prints how it ended; refused unless a canary of the app is shifting.
import type { Command } from 'commander';
import type { DeploymentView } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { followDeployment } from '../follow-deployment.ts';
import { formatDeploymentSummary } from '../format-deployment.ts';
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
      const json = ctx.globals(command).json;
      if (!json) ctx.io.out(`${describePromote(taken)}\n`);
      if (!flags.wait || taken.ended) {
        if (json) ctx.io.out(`${JSON.stringify(taken, null, 2)}\n`);
        return;
      }
      const interrupt = new AbortController();
      const unsubscribe = ctx.io.onInterrupt?.(() => interrupt.abort());
      try {
        const result = await followDeployment({
          id: taken.id,
          getDeployment: (id) => client.getDeployment(id),
          onView: () => undefined,
          onUnreachable: () => ctx.io.err('daemon unreachable, retrying\n'),
          signal: interrupt.signal,
        });
        const last = result.view ?? taken;
        if (json) ctx.io.out(`${JSON.stringify(last, null, 2)}\n`);
        else if (result.kind === 'ended') ctx.io.out(`${formatDeploymentSummary(last)}\n`);
        if (result.kind === 'interrupted') {
          ctx.io.err(
            `stopped waiting: the promoted deployment ${taken.id} goes on in the daemon\n`,
          );
          ctx.setExitCode(130);
        } else if (last.outcome !== 'succeeded') {
          ctx.setExitCode(1);
        }
      } finally {
        unsubscribe?.();
      }
    });
}

export function describePromote(view: DeploymentView): string {
  const head = `${view.app} ${view.release}: deployment ${view.id}`;
  if (view.ended) return `${head} has ended: ${view.outcome ?? view.step}`;
  return `${head}: promote taken; the remaining canary steps are skipped and ${view.to ?? 'the new color'} takes all traffic`;
}
