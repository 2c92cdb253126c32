// Re-snapshots each app's live color every `drift.interval` of its live release (0: never), so
// a change made in place (a config file edited on the host, the interpreter upgraded, an env
// var of the daemon changed) shows up in `cutover drift`. One pass at a time; errors are logged.
import type { Logger } from 'pino';
import type { DaemonState } from '../core/types.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { DriftService } from './drift-service.ts';

/** How often the monitor looks for a due re-snapshot; intervals are rounded up to it. */
export const DRIFT_MONITOR_TICK_MS = 250;
/** How often an app whose live config is not known yet is looked up again. */
const INTERVAL_RETRY_MS = 1_000;

export interface DriftMonitorOptions {
  readonly service: DriftService;
  readonly store: StateStore;
  readonly nowMs: () => number;
  readonly logger?: Logger;
  readonly tickMs?: number;
}

export interface DriftMonitor {
  stop(): Promise<void>;
}

export async function startDriftMonitor(options: DriftMonitorOptions): Promise<DriftMonitor> {
  let state: DaemonState = (await options.store.load()).state;
  const unwatch = options.store.watch((next) => {
    state = next;
  });
  /** Per app: the live release last seen, its interval (null: unknown yet), the last snapshot time. */
  const seen = new Map<
    string,
    { release: string; intervalMs: number | null; lastMs: number; askedMs: number }
  >();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function pass(): Promise<void> {
    for (const app of Object.values(state.apps)) {
      if (stopped) return;
      const release = app.live === null ? null : app.environments[app.live].release?.id;
      if (release === null || release === undefined) {
        seen.delete(app.name);
        continue;
      }
      let entry = seen.get(app.name);
      if (entry?.release !== release) {
        // A new live release: its drift check just snapshotted it; the first re-snapshot is due
        // one interval later.
        entry = { release, intervalMs: null, lastMs: options.nowMs(), askedMs: -Infinity };
        seen.set(app.name, entry);
      }
      // The flip makes a release live before its deployment is recorded as succeeded, which is
      // where its config is read: ask again until it is known.
      if (entry.intervalMs === null && options.nowMs() - entry.askedMs >= INTERVAL_RETRY_MS) {
        entry.askedMs = options.nowMs();
        entry.intervalMs = await options.service.intervalOf(app.name, app);
      }
      if (entry.intervalMs === null || entry.intervalMs <= 0) continue;
      if (options.nowMs() - entry.lastMs < entry.intervalMs) continue;
      entry.lastMs = options.nowMs();
      try {
        await options.service.resnapshotLive(app.name, app);
      } catch (error) {
        options.logger?.warn({ err: error, app: app.name }, 'could not re-snapshot the live color');
      }
    }
  }

  let busy = false;
  const timer = setInterval(() => {
    // A slow pass (an interpreter slow to answer --version) is not queued behind itself.
    if (busy) return;
    busy = true;
    running = pass()
      .catch((error: unknown) => {
        options.logger?.error({ err: error }, 'the drift monitor pass failed');
      })
      .finally(() => {
        busy = false;
      });
  }, options.tickMs ?? DRIFT_MONITOR_TICK_MS);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
      await running;
    },
  };
}
