// `cutover abort [app] [--reason TEXT]`: stops the app's running deployment. Before the flip
// nothing was touched; during the verify window it flips back. The deployment then ends on its own.
import type { Command } from 'commander';
import type { DeploymentView } from '../../client/api-types.ts';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { resolveAppName } from '../resolve-app.ts';

/** The admin API refuses longer reasons. */
const MAX_REASON_CHARS = 500;

export function registerAbortCommand(program: Command, ctx: CliContext): void {
  program
    .command('abort')
    .description(
      "stop the app's running deployment (before the flip, or flip back while verifying)",
    )
    .argument('[app]', 'the app (default: the app of ./cutover.yaml, or the only app)')
    .option('--reason <text>', 'why, for the history and the deployment report', parseReason)
    .action(async (app: string | undefined, flags: { reason?: string }, command: Command) => {
      const client = ctx.client(command);
      const name = await resolveAppName(app, client, 'cutover abort <app>');
      const result = await client.abortApp(
        name,
        flags.reason === undefined ? {} : { reason: flags.reason },
      );
      ctx.print(command, result, () => describeAbort(result));
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
  const lines = view.ended
    ? [`${head} ended: ${view.outcome ?? view.step}`]
    : [
        `${head} is aborting (now: ${view.step}); it ends on its own`,
        view.flipped && view.from !== null
          ? `  traffic goes back to ${view.from}`
          : `  traffic stays on ${view.from ?? 'nothing (this was the first deployment)'}`,
      ];
  if (view.reason !== null) lines.push(`  reason: ${view.reason}`);
  lines.push(`  follow it with \`cutover history ${view.app} --deployments\``);
  return lines.join('\n');
}
