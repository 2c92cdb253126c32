// `cutover status [app]`: colors, releases, instances with health, live color, in-flight, flips,
// and the deployments still running (their step, for how long, what they wait for).
import type { Command } from 'commander';
import type { DeploymentView } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { formatStatusLine } from '../format-deployment.ts';
import { formatApp, formatStatus } from '../format-status.ts';

/** Running deployments are among the newest: one per app at most runs at a time. */
const RECENT_DEPLOYMENTS = 50;

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description(
      'show each app: colors, releases, instance health, the live color, in-flight, last flips',
    )
    .argument('[app]', 'only this app')
    .action(async (app: string | undefined, _flags: unknown, command: Command) => {
      const client = ctx.client(command);
      const json = ctx.globals(command).json;
      if (app === undefined) {
        const status = await client.status();
        if (json) return ctx.print(command, status, () => '');
        const recent = await client.listDeployments({ limit: RECENT_DEPLOYMENTS });
        ctx.io.out(`${withRunning(formatStatus(status), recent.deployments)}\n`);
      } else {
        const status = await client.app(app);
        if (json) return ctx.print(command, status, () => '');
        const recent = await client.listDeployments({ app, limit: 1 });
        ctx.io.out(`${withRunning(formatApp(status), recent.deployments)}\n`);
      }
    });
}

export function withRunning(
  text: string,
  deployments: readonly DeploymentView[],
  nowMs: number = Date.now(),
): string {
  const running = deployments.filter((deployment) => !deployment.ended);
  const notes = rollingNotes(deployments);
  if (running.length === 0) return notes.length === 0 ? text : [text, '', ...notes].join('\n');
  const lines = running.map(
    (d) => `  ${d.app} ${d.release} (${d.id}): ${formatStatusLine(d, nowMs) ?? d.step}`,
  );
  return [text, '', ...notes, 'deployments running:', ...lines].join('\n');
}

/**
 * An app whose last deployment went live rolling keeps no standby: say so plainly, since the
 * colors alone only show an empty old color.
 */
function rollingNotes(deployments: readonly DeploymentView[]): string[] {
  const seen = new Set<string>();
  const notes: string[] = [];
  // Newest first, as the daemon lists them: the first deployment seen of an app is its last.
  for (const d of deployments) {
    if (seen.has(d.app)) continue;
    seen.add(d.app);
    if (d.strategy === 'rolling' && d.outcome === 'succeeded') {
      notes.push(
        `${d.app}: ${d.release} went live rolling (${d.id}): no standby, no instant rollback; deploy the previous release again to go back`,
      );
    }
  }
  return notes;
}
