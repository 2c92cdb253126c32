// Reads one app's status from the daemon's admin API (GET /v1/apps/:app, AppStatus in
// src/client/api-types.ts) for what the benchmarks check: the live color and in-flight counts.
import type { AppStatus } from '../../src/client/api-types.ts';
import type { CutoverDaemon } from './cutover-daemon.ts';

export async function readAppStatus(daemon: CutoverDaemon, app: string): Promise<AppStatus> {
  return (await daemon.adminOk('GET', `/v1/apps/${app}`)) as AppStatus;
}

/** In-flight requests on the live color (0 when there is none). */
export async function liveInflight(daemon: CutoverDaemon, app: string): Promise<number> {
  const status = await readAppStatus(daemon, app);
  return status.live === null ? 0 : status.colors[status.live].inflight;
}
