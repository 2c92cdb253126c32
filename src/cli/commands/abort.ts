// `cutover abort [app] [--reason TEXT] [--no-wait]`: stops the app's running deployment. Before
// the flip nothing was touched; during the verify window it flips back. Then it waits for the
// deployment to end and prints how it ended.
import type { Command } from 'commander';
import type { DeploymentView } from '../../client/api-types.ts';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { followTakenDeployment } from '../follow-taken.ts';
import { resolveAppName } from '../resolve-app.ts';

/** The admin API refuses longer reasons. */
const MAX_REASON_CHARS = 500;

interface AbortFlags {
  readonly reason?: string;
  readonly wait: boolean;
}

export function registerAbortCommand(program: Command, ctx: CliContext): void {
  program
    .command('abort')
    .description(
      "stop the app's running deployment (before the flip, or flip back while verifying)",
    )
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .option('--reason <text>', 'why, for the history and the deployment report', parseReason)
    .option(
      '--no-wait',
      'return once the abort is taken, without waiting for the deployment to end',
    )
    .action(async (app: string | undefined, flags: AbortFlags, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover abort <app>');
      const taken = await client.abortApp(
        name,
        flags.reason === undefined ? {} : { reason: flags.reason },
      );
      await followTakenDeployment(ctx, command, taken, {
        wait: flags.wait,
        taken: describeAbort(taken),
        goesOn: `the abort of ${taken.id}`,
      });
    });
}

function parseReason(text: string): string {
  const reason = text.trim();
  if (reason === '' || reason.length > MAX_REASON_CHARS) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--reason must be 1 to ${MAX_REASON_CHARS} characters, got ${reason.length}`,
    );
  }
  return reason;
}

export function describeAbort(view: DeploymentView): string {
  const head = `${view.app} ${view.release}: deployment ${view.id}`;
  if (view.ended) return `${head} has ended: ${view.outcome ?? view.step}`;
  const traffic =
    view.flipped && view.from !== null
      ? `traffic goes back to ${view.from}`
      : `traffic stays on ${view.from ?? 'nothing (it was the first deployment)'}`;
  return `${head}: abort taken at step ${view.step}; ${traffic}`;
}
