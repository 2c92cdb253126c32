// One deployment of the demo: send a shop release (its directory and cutover.yaml text) to the
// daemon, then follow it by polling until it ends, printing each step as it ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminClient } from '../../client/admin-client.ts';
import type { DeploymentView } from '../../client/api-types.ts';
import { CutoverError } from '../../core/errors.ts';
import { interrupted } from './demo-processes.ts';
import { formatStepLine } from './demo-report.ts';

const POLL_MS = 100;
/** Far above any shop release's whole pipeline (start, smoke, warm-up, a 5 s probe window). */
const DEPLOY_TIMEOUT_MS = 90_000;

export interface FollowOptions {
  readonly signal: AbortSignal;
  readonly progress: (line: string) => void;
  /** How long to follow before giving up (the deployment goes on in the daemon). */
  readonly timeoutMs?: number;
}

/** Starts the deployment of the release in `dir` and resolves with its final view. */
export async function deployRelease(
  client: AdminClient,
  app: string,
  release: string,
  dir: string,
  options: FollowOptions,
): Promise<DeploymentView> {
  const configPath = join(dir, 'cutover.yaml');
  const config = await readFile(configPath, 'utf8');
  const started = await client.startDeployment(app, { release, dir, config, configPath });
  return followDeployment(client, started, options);
}

export async function followDeployment(
  client: AdminClient,
  started: DeploymentView,
  options: FollowOptions,
): Promise<DeploymentView> {
  const deadline = performance.now() + (options.timeoutMs ?? DEPLOY_TIMEOUT_MS);
  let view = started;
  let printed = 0;
  for (;;) {
    while (printed < view.steps.length) {
      const step = view.steps[printed];
      if (step === undefined || step.endedAt === null || isOutcome(step.step)) break;
      options.progress(formatStepLine(step, view.steps[printed + 1]));
      printed += 1;
    }
    if (view.ended) return view;
    if (options.signal.aborted) throw interrupted();
    if (performance.now() > deadline) {
      throw new CutoverError(
        'CUTOVER_ERR_DEMO_FAILED',
        `deployment ${view.id} of ${view.release} did not end within ${(options.timeoutMs ?? DEPLOY_TIMEOUT_MS) / 1000} s (step "${view.step}", waiting for ${view.waitingFor ?? 'nothing named'})`,
      );
    }
    try {
      await sleep(POLL_MS, undefined, { signal: options.signal });
    } catch {
      throw interrupted();
    }
    view = await client.getDeployment(view.id);
  }
}

const OUTCOMES: readonly string[] = ['succeeded', 'failed', 'aborted', 'rolled-back'];

function isOutcome(step: string): boolean {
  return OUTCOMES.includes(step);
}
