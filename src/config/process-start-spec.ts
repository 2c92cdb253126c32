// What the process runtime needs from an AppConfig to start one release's instances.
import { isAbsolute, relative, resolve } from 'node:path';
import type { AppConfig } from '../core/app-config.ts';
import { CutoverError } from '../core/errors.ts';
import type { ProcessStartSpec } from '../ports/runtime.ts';

/**
 * Builds the start spec of a release in `releaseDir`, with `env` already resolved (see
 * resolveAppEnv). `cwd` must stay inside the release: a release is one self-contained folder.
 */
export function toProcessStartSpec(
  config: AppConfig,
  releaseDir: string,
  env: Readonly<Record<string, string>>,
): ProcessStartSpec {
  if (config.runtime !== 'process' || config.start === null) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `app ${config.app} uses the ${config.runtime} runtime: cutover does not start its instances`,
      { field: 'runtime' },
    );
  }
  const root = resolve(releaseDir);
  const dir = resolve(root, config.cwd);
  const inside = relative(root, dir);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `cwd: "${config.cwd}" leaves the release directory ${root}; use a path inside it`,
      { field: 'cwd' },
    );
  }
  return {
    dir,
    command: config.start,
    instances: config.instances,
    env,
    stopSignal: config.stop.signal,
    stopTimeoutMs: config.stop.timeoutMs,
  };
}
