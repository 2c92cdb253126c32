// The pipeline half of `cutover deploy`: read the release's cutover.yaml, start the deployment in
// the daemon, then follow it with live progress until it ends. The daemon runs the deployment:
// Ctrl-C stops only the following.
import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DeploymentView, StartDeploymentRequest } from '../../client/api-types.ts';
import { APP_CONFIG_FILE_NAME, loadAppConfigFromDir } from '../../config/load-app-config.ts';
import type { AppConfig, Strategy } from '../../core/app-config.ts';
import { CutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { DeploymentProgress } from '../deployment-progress.ts';
import { followDeployment, UNREACHABLE_GRACE_MS } from '../follow-deployment.ts';
import type { FollowResult } from '../follow-deployment.ts';
import { formatDeploymentSummary } from '../format-deployment.ts';

export interface DeployFlags {
  readonly app?: string;
  readonly instances?: string[];
  readonly dir?: string;
  /** False with --no-wait. */
  readonly wait: boolean;
  readonly hosts?: string[];
  readonly healthPath?: string;
  readonly healthTimeout?: number;
  readonly healthInterval?: number;
  readonly ifMatch?: number;
  readonly strategy?: Strategy;
  readonly acceptDrift?: string[];
  readonly mirror?: boolean;
}

/** Flags of the deploy of running instances that the pipeline takes from cutover.yaml instead. */
const INSTANCE_ONLY_FLAGS = [
  ['hosts', '--hosts', 'hosts'],
  ['healthPath', '--health-path', 'health.path'],
  ['healthInterval', '--health-interval', 'health.interval'],
  ['healthTimeout', '--health-timeout', 'health.startTimeout'],
] as const;

export async function deployRelease(
  release: string,
  flags: DeployFlags,
  ctx: CliContext,
  command: Command,
): Promise<void> {
  const request = await readRelease(release, flags);
  const client = ctx.client(command);
  const json = ctx.globals(command).json;
  const started = await client.startDeployment(request.app, request.body);
  if (!flags.wait) {
    if (json) ctx.io.out(`${JSON.stringify(started, null, 2)}\n`);
    else {
      ctx.io.out(`${started.id}\n`);
      ctx.io.err(
        `${started.app} ${started.release}: deployment ${started.id} started; ` +
          `\`cutover history ${started.app} --deployments\` shows how it goes, \`cutover abort ${started.app}\` stops it\n`,
      );
    }
    return;
  }

  const io = ctx.io;
  const progress = json
    ? null
    : new DeploymentProgress({
        write: (text) => io.out(text),
        isTTY: io.isTTY === true,
        columns: io.columns,
      });
  if (!json) io.out(`${started.app} ${started.release}: deployment ${started.id}\n`);
  const interrupt = new AbortController();
  const unsubscribe = io.onInterrupt?.(() => interrupt.abort());
  let result: FollowResult;
  try {
    result = await followDeployment({
      id: started.id,
      getDeployment: (id) => client.getDeployment(id),
      onView: (view) => progress?.update(view),
      onUnreachable: () => {
        progress?.clear();
        io.err(
          `daemon unreachable, retrying for up to ${UNREACHABLE_GRACE_MS / 1000} s (a restarted daemon resumes the deployment)\n`,
        );
      },
      signal: interrupt.signal,
    });
  } finally {
    unsubscribe?.();
    progress?.clear();
  }

  if (result.kind === 'interrupted') {
    io.err(
      `\nstopped following ${started.id}: the deployment goes on in the daemon; ` +
        `\`cutover abort ${started.app}\` stops it; \`cutover status ${started.app}\` and ` +
        `\`cutover history ${started.app} --deployments\` show how it goes\n`,
    );
    ctx.setExitCode(130);
    return;
  }
  const view = result.view;
  if (json) {
    io.out(`${JSON.stringify(view, null, 2)}\n`);
    if (view.outcome !== 'succeeded') ctx.setExitCode(1);
    return;
  }
  io.out(`${formatDeploymentSummary(view)}\n`);
  if (view.outcome !== 'succeeded') throw deployFailed(view);
}

function deployFailed(view: DeploymentView): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_DEPLOY_FAILED',
    `${view.app} ${view.release} ${view.outcome ?? view.step}: ${view.reason ?? 'no reason given'}`,
    { deployment: view.id, outcome: view.outcome, step: view.step },
  );
}

interface ReleaseRequest {
  readonly app: string;
  readonly body: StartDeploymentRequest;
}

/** Reads and checks D/cutover.yaml and the flags against it, before anything reaches the daemon. */
async function readRelease(release: string, flags: DeployFlags): Promise<ReleaseRequest> {
  const dir = resolve(flags.dir ?? '.');
  const configPath = join(dir, APP_CONFIG_FILE_NAME);
  try {
    await access(configPath);
  } catch {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `${configPath} not found: pass the release's folder with --dir, write a config there with \`cutover init\`, ` +
        'or deploy running instances with --app and --instances',
      { file: configPath },
    );
  }
  const config = await loadAppConfigFromDir(dir);
  const text = await readFile(configPath, 'utf8');
  checkFlags(flags, config, configPath);
  return {
    app: config.app,
    body: {
      release,
      dir,
      config: text,
      configPath,
      ...(flags.instances === undefined ? {} : { instances: flags.instances }),
      ...(flags.strategy === undefined ? {} : { strategy: flags.strategy }),
      ...(flags.acceptDrift === undefined ? {} : { acceptDrift: flags.acceptDrift }),
      ...(flags.mirror === true ? { mirror: true } : {}),
    },
  };
}

function checkFlags(flags: DeployFlags, config: AppConfig, configPath: string): void {
  if (flags.app !== undefined && flags.app !== config.app) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--app "${flags.app}" does not match app: ${config.app} in ${configPath}; drop --app or deploy the right folder`,
    );
  }
  for (const [key, flag, field] of INSTANCE_ONLY_FLAGS) {
    if (flags[key] !== undefined) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `${flag} applies to a deploy of --instances without --dir; set ${field} in ${configPath} instead`,
      );
    }
  }
  if (flags.ifMatch !== undefined) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      '--if-match applies to a deploy of --instances without --dir; a deployment takes the app lock instead',
    );
  }
  if (config.runtime === 'external' && flags.instances === undefined) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${configPath} says runtime: external: pass the running instances with --instances host:port[,host:port]`,
    );
  }
  if (config.runtime === 'process' && flags.instances !== undefined) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `--instances is for runtime: external, but ${configPath} says runtime: process (cutover starts the instances)`,
    );
  }
}
