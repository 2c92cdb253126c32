// The folder and cutover.yaml text a release was deployed with, read from its successful
// deployment's stored request (the same record DeploymentRunner.liveRelease reads), and whether
// that text declares a `drift:` section.
import { parse } from 'yaml';
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

/** True when the cutover.yaml text has a top-level `drift:` key (even an empty one). */
export function declaresDrift(configText: string): boolean {
  try {
    const parsed: unknown = parse(configText);
    return parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'drift');
  } catch {
    return false;
  }
}
