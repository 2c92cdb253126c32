// The composition root: the only place that picks adapters and wires them to the controller
// (DESIGN.md: only the daemon wires everything).
import type { Logger } from 'pino';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import { createExternalRuntime } from '../adapters/runtime/external/external-runtime.ts';
import { createSqliteStateStore } from '../adapters/state-store/sqlite/sqlite-state-store.ts';
import { createBuiltinTrafficSwitch } from '../adapters/traffic/builtin/builtin-traffic-switch.ts';
import { Controller } from '../controller/controller.ts';
import { buildRoutingTable } from '../core/routing-table.ts';
import type { Clock } from '../ports/clock.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { TrafficSwitch } from '../ports/traffic-switch.ts';
import { createHealthChecker } from '../probes/health-checker.ts';
import type { DataDirPaths } from './data-dir.ts';
import { createHistoryFeed, type HistoryFeed } from './history-feed.ts';
import type { DaemonOptions } from './daemon-options.ts';
import type { HostPort } from './host-port.ts';
import { assertPortsFree, listenError } from './port-check.ts';

export interface ComposeInput {
  readonly options: DaemonOptions;
  readonly paths: DataDirPaths;
  readonly logger: Logger;
}

export interface ComposedSystem {
  readonly store: StateStore;
  readonly feed: HistoryFeed;
  readonly clock: Clock;
  readonly traffic: TrafficSwitch;
  readonly controller: Controller;
  readonly publicAddress: HostPort;
  readonly previewAddress: HostPort;
  /** Stops the public and preview listeners; in-flight responses get `Connection: close`. */
  closeTraffic(deadlineMs: number): Promise<void>;
  /** Stops the controller (health checks) and closes the state store. */
  closeState(): Promise<void>;
  /** Both, for a start that failed half-way. */
  close(deadlineMs: number): Promise<void>;
}

export async function composeSystem(input: ComposeInput): Promise<ComposedSystem> {
  const { options, paths, logger } = input;
  const clock = createSystemClock();
  const stored = await createSqliteStateStore({
    path: paths.stateDb,
    onWatcherError: (error) => logger.error({ err: error }, 'state watcher failed'),
  });
  // Everything appended to the history (by the controller or the audit log) is also streamed.
  const feed = createHistoryFeed(stored);
  const store = feed.store;
  let traffic: Awaited<ReturnType<typeof createBuiltinTrafficSwitch>> | undefined;
  try {
    // Read the committed state before the listeners exist and hand it to the router, which
    // serves it from the first accepted connection: after a crash, a known app never meets an
    // empty table (QUALITY.md B6). The controller's start() then applies the same generation.
    // Corrupt records are left out of the table here and reported by the controller (B7).
    const { state } = await store.load();
    const listeners = [
      { flag: '--public', address: options.public },
      { flag: '--preview', address: options.preview },
    ];
    if (options.workers > 1) await assertPortsFree(listeners);
    traffic = await createBuiltinTrafficSwitch({
      public: options.public,
      preview: options.preview,
      workers: options.workers,
      table: buildRoutingTable(state),
      logger: logger.child({ component: 'router' }),
    }).catch((error: unknown) => {
      throw listenError(error, listeners);
    });

    const health = createHealthChecker({ clock });
    const controller = new Controller({
      store,
      traffic,
      runtime: createExternalRuntime(),
      clock,
      health,
      logger: logger.child({ component: 'controller' }),
    });
    await controller.start();

    const bound = traffic;
    const closeTraffic = (deadlineMs: number): Promise<void> => bound.close(deadlineMs);
    const closeState = async (): Promise<void> => {
      await controller.stop();
      health.close();
      await store.close();
    };
    return {
      store,
      feed,
      clock,
      traffic: bound,
      controller,
      publicAddress: bound.publicAddress,
      previewAddress: bound.previewAddress,
      closeTraffic,
      closeState,
      async close(deadlineMs) {
        await closeTraffic(deadlineMs);
        await closeState();
      },
    };
  } catch (error) {
    await traffic?.close(1000).catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
