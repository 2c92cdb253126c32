// After `cutover abort` or `cutover promote` was taken by the daemon: print it, then (unless
// --no-wait, or it already ended) follow the deployment to its end and print how it ended.
// Ctrl-C stops only the following (exit 130); the daemon goes on.
import type { Command } from 'commander';
import type { DeploymentView } from '../client/api-types.ts';
import type { CliContext } from './cli-context.ts';
import { followDeployment } from './follow-deployment.ts';
import { formatDeploymentSummary } from './format-deployment.ts';

export interface FollowTakenOptions {
  readonly wait: boolean;
  /** The line printed when the command was taken (text output only). */
  readonly taken: string;
  /** What goes on in the daemon when the user stops waiting, for the message. */
  readonly goesOn: string;
  /** Exit 1 unless the deployment ends with this outcome (promote: it must go live). */
  readonly expectOutcome?: DeploymentView['outcome'];
}

export async function followTakenDeployment(
  ctx: CliContext,
  command: Command,
  taken: DeploymentView,
  options: FollowTakenOptions,
): Promise<void> {
  const json = ctx.globals(command).json;
  if (!json) ctx.io.out(`${options.taken}\n`);
  if (!options.wait || taken.ended) {
    if (json) ctx.io.out(`${JSON.stringify(taken, null, 2)}\n`);
    return;
  }
  const client = ctx.client(command);
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
      ctx.io.err(`stopped waiting: ${options.goesOn} goes on in the daemon\n`);
      ctx.setExitCode(130);
    } else if (options.expectOutcome !== undefined && last.outcome !== options.expectOutcome) {
      ctx.setExitCode(1);
    }
  } finally {
    unsubscribe?.();
  }
}
