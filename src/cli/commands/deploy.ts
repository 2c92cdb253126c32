// `cutover deploy <release> --app <name> --instances <addr>[,<addr>...]`: puts running instances
// into the app's idle color, waits for their health checks, then flips (external runtime).
import type { Command } from 'commander';
import type { DeployRequest } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { describeDeploy } from '../format-flip.ts';
import { parseDuration } from '../parse-duration.ts';
import { parseAddressList, parseHostList, parsePositiveInteger } from '../parse-lists.ts';

interface DeployFlags {
  readonly app: string;
  readonly instances: string[];
  readonly hosts?: string[];
  readonly healthPath?: string;
  readonly healthTimeout?: number;
  readonly healthInterval?: number;
  readonly ifMatch?: number;
}

export function registerDeployCommand(program: Command, ctx: CliContext): void {
  program
    .command('deploy')
    .description('put a running release into the idle color, wait until healthy, then flip to it')
    .argument('<release>', 'release id, e.g. v42')
    .requiredOption('--app <name>', 'the app to deploy')
    .requiredOption('--instances <addresses>', 'host:port of each instance, comma-separated', (v) =>
      parseAddressList(v, '--instances'),
    )
    .option(
      '--hosts <names>',
      'host names routed to the app, comma-separated (default: keep; catch-all if new)',
      (v) => parseHostList(v, '--hosts'),
    )
    .option('--health-path <path>', 'HTTP path of the health check (2xx or 3xx passes)')
    .option(
      '--health-interval <duration>',
      'time between health checks of one instance, e.g. 1s',
      (v) => parseDuration(v, '--health-interval'),
    )
    .option('--health-timeout <duration>', 'how long every instance has to pass, e.g. 30s', (v) =>
      parseDuration(v, '--health-timeout'),
    )
    .option(
      '--if-match <revision>',
      'refuse if the state revision changed since it was read',
      (v) => parsePositiveInteger(v, '--if-match', Number.MAX_SAFE_INTEGER),
    )
    .action(async (release: string, flags: DeployFlags, command: Command) => {
      const request: DeployRequest = {
        release,
        instances: flags.instances,
        ...(flags.hosts === undefined ? {} : { hosts: flags.hosts }),
        ...(flags.healthPath === undefined && flags.healthInterval === undefined
          ? {}
          : {
              health: {
                ...(flags.healthPath === undefined ? {} : { path: flags.healthPath }),
                ...(flags.healthInterval === undefined ? {} : { intervalMs: flags.healthInterval }),
              },
            }),
        ...(flags.healthTimeout === undefined ? {} : { healthTimeoutMs: flags.healthTimeout }),
      };
      const options = flags.ifMatch === undefined ? {} : { ifMatch: flags.ifMatch };
      const result = await ctx.client(command).deploy(flags.app, request, options);
      ctx.print(command, result, () => describeDeploy(result));
    });
}
