// `cutover deploy <release> [--dir D]`: runs the deployment pipeline on the release in D (its
// cutover.yaml is the config) and follows it. `--app A --instances H:P,...` without --dir keeps
// the older deploy of already running instances (external runtime): health checks, then flip.
import type { Command } from 'commander';
import type { DeployRequest } from '../../client/api-types.ts';
import { STRATEGIES } from '../../core/app-config.ts';
import type { Strategy } from '../../core/app-config.ts';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { describeDeploy } from '../format-flip.ts';
import { parseDuration } from '../parse-duration.ts';
import { parseAddressList, parseHostList, parsePositiveInteger } from '../parse-lists.ts';
import { deployRelease } from './deploy-release.ts';
import type { DeployFlags } from './deploy-release.ts';

function parseStrategy(value: string): Strategy {
  if ((STRATEGIES as readonly string[]).includes(value)) return value as Strategy;
  throw new CutoverError(
    'CUTOVER_ERR_USAGE',
    `--strategy: expected one of ${STRATEGIES.join(', ')}, got "${value}"`,
  );
}

export function registerDeployCommand(program: Command, ctx: CliContext): void {
  program
    .command('deploy')
    .description(
      'deploy a release: start it on the idle color, smoke-test, warm up, flip, verify, drain',
    )
    .argument('<release>', 'release id, e.g. v42')
    .option('--dir <dir>', "the release's folder, holding its cutover.yaml (default: .)")
    .option('--app <name>', 'the app (default: the app of cutover.yaml; required with --instances)')
    .option(
      '--instances <addresses>',
      'host:port of each running instance, comma-separated (runtime: external)',
      (v) => parseAddressList(v, '--instances'),
    )
    .option('--no-wait', 'print the deployment id once started, without following it')
    .option(
      '--strategy <name>',
      'bluegreen, canary or rolling (default: strategy in cutover.yaml, else bluegreen)',
      parseStrategy,
    )
    .option(
      '--accept-drift <key>',
      'let this drift snapshot key (or glob) differ from the live color this once; repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--mirror', 'mirror live requests to the idle color from warm-up until the flip')
    .option(
      '--hosts <names>',
      'with --instances: host names routed to the app, comma-separated (default: keep; catch-all if new)',
      (v) => parseHostList(v, '--hosts'),
    )
    .option('--health-path <path>', 'with --instances: HTTP path of the health check')
    .option(
      '--health-interval <duration>',
      'with --instances: time between health checks of one instance, e.g. 1s',
      (v) => parseDuration(v, '--health-interval'),
    )
    .option(
      '--health-timeout <duration>',
      'with --instances: how long every instance has to pass, e.g. 30s',
      (v) => parseDuration(v, '--health-timeout'),
    )
    .option(
      '--if-match <revision>',
      'with --instances: refuse if the state revision changed since it was read',
      (v) => parsePositiveInteger(v, '--if-match', Number.MAX_SAFE_INTEGER),
    )
    .action(async (release: string, flags: DeployFlags, command: Command) => {
      if (flags.instances !== undefined && flags.dir === undefined) {
        await deployInstances(release, flags, flags.instances, ctx, command);
      } else {
        await deployRelease(release, flags, ctx, command);
      }
    });
}

/** The deploy of running instances: one call that returns once the flip is done. */
async function deployInstances(
  release: string,
  flags: DeployFlags,
  instances: string[],
  ctx: CliContext,
  command: Command,
): Promise<void> {
  if (flags.app === undefined) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      "required option '--app <name>' not specified: --instances deploys running instances of the app you name; " +
        'or pass --dir with the release folder holding its cutover.yaml',
    );
  }
  if (!flags.wait) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      '--no-wait applies to a deployment from a cutover.yaml (--dir); a deploy of --instances returns once flipped',
    );
  }
  if (flags.strategy !== undefined || flags.acceptDrift !== undefined || flags.mirror === true) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      '--strategy, --accept-drift and --mirror apply to a deployment from a cutover.yaml (--dir); a deploy of --instances is one flip',
    );
  }
  const request: DeployRequest = {
    release,
    instances,
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
}
