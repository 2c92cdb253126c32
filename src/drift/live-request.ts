// The folder and cutover.yaml text a release was deployed with, read from its successful
// deployment's stored request (the same record DeploymentRunner.liveRelease reads).
import type { StateStore } from '../ports/state-store.ts';

export interface DeployedRequest {
  readonly release: string;
  readonly dir: string;
  readonly config: string;
  readonly configPath: string;
}

/** How far back to look for the deployment of a live release. */
const DEPLOYMENTS_SCANNED = 100;

export async function findDeployedRequest(
  store: StateStore,
  app: string,
  release: string,
): Promise<DeployedRequest | null> {
  const records = await store.listDeployments({ app, limit: DEPLOYMENTS_SCANNED });
  const record = records.find(
    (each) => each.state.step === 'succeeded' && each.state.release === release,
  );
  if (record === undefined) return null;
  const { dir, config, configPath } = record.request;
  if (typeof dir !== 'string' || typeof config !== 'string') return null;
  return {
    release,
    dir,
    config,
    configPath: typeof configPath === 'string' ? configPath : 'cutover.yaml',
  };
}
