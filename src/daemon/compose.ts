// The composition root: the only place that picks adapters and wires them to the controller
// (DESIGN.md: only the daemon wires everything).
import type { Logger } from 'pino';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import { join } from 'node:path';
import { createExternalRuntime } from '../adapters/runtime/external/external-runtime.ts';
import { createProcessRuntime } from '../adapters/runtime/process/process-runtime.ts';
import type { InstanceEvent } from '../ports/runtime.ts';
import { openPostgresMigrationTarget } from '../adapters/database/postgres/postgres-migration-target.ts';
import { openSqliteMigrationTarget } from '../adapters/database/sqlite/sqlite-migration-target.ts';
import { parseDatabaseUrl } from '../core/database-url.ts';
import type { MigrationTarget } from '../ports/database.ts';
import { createSqliteStateStore } from '../adapters/state-store/sqlite/sqlite-state-store.ts';
import { createBuiltinTrafficSwitch } from '../adapters/traffic/builtin/builtin-traffic-switch.ts';
import { loadDnsConfig } from '../adapters/traffic/dns/dns-config.ts';
import { createDnsTrafficSwitch } from '../adapters/traffic/dns/dns-traffic-switch.ts';
import { Controller } from '../controller/controller.ts';
import { loadDriftSalt } from '../drift/drift-salt.ts';
import { createDriftService } from '../drift/drift-service.ts';
import { startDriftMonitor } from '../drift/drift-monitor.ts';
import { buildRoutingTable } from '../core/routing-table.ts';
import type { Clock } from '../ports/clock.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { TrafficSwitch } from '../ports/traffic-switch.ts';
import { createHealthChecker } from '../probes/health-checker.ts';
import type { DataDirPaths } from './data-dir.ts';
import { createHistoryFeed, type HistoryFeed } from './history-feed.ts';
import type { DaemonOptions } from './daemon-options.ts';
import { formatHostPort } from './host-port.ts';
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

/** The app's database, by the dialect its URL names (issue 4). */
function openDatabase(url: string): Promise<MigrationTarget> {
  const parsed = parseDatabaseUrl(url);
  if (parsed instanceof Error) return Promise.reject(parsed);
  return parsed.dialect === 'postgres'
    ? openPostgresMigrationTarget(url)
    : openSqliteMigrationTarget(url);
}

/** The URL the daemon itself uses to reach a listener: a wildcard address means loopback. */
function selfUrl(address: HostPort): string {
  const host =
    address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${formatHostPort({ host, port: address.port })}`;
}

/** `InstanceCrashed` -> `instance-crashed`: the history's event type. */
function instanceEventType(event: InstanceEvent): string {
  return event.type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * Test hook for the crash tests (QUALITY.md E1): `CUTOVER_FAILPOINT=persisted:smoke` (or
 * `effect-done:flip`, ...) makes the daemon kill itself with SIGKILL at that step boundary.
 */
function failpointFromEnv(logger: Logger): ((name: string) => void) | undefined {
  const wanted = process.env.CUTOVER_FAILPOINT;
  if (wanted === undefined || wanted === '') return undefined;
  logger.warn({ failpoint: wanted }, 'CUTOVER_FAILPOINT is set: this daemon kills itself there');
  return (name) => {
    if (name !== wanted) return;
    logger.fatal({ failpoint: name }, 'failpoint reached: SIGKILL');
    process.kill(process.pid, 'SIGKILL');
  };
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
  // The DNS switch wraps `traffic` and closes it too; set once it owns its listeners.
  let outer: TrafficSwitch | undefined;
  try {
    // Read the committed state before the listeners exist and hand it to the router, which
    // serves it from the first accepted connection: after a crash, a known app never meets an
    // empty table (QUALITY.md B6). The controller's start() then applies the same generation.
    // Corrupt records are left out of the table here and reported by the controller (B7).
    const { state } = await store.load();
    // DNS switching (issue 5): a bad --dns-config stops the start before any listener binds.
    const dnsConfig = options.dnsConfig == null ? null : loadDnsConfig(options.dnsConfig);
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
    const runtimeLogger = logger.child({ component: 'runtime' });
    // Instances of `runtime: process` apps live detached; their records are under the data dir.
    const processRuntime = createProcessRuntime({
      stateDir: join(paths.root, 'instances'),
      onInstanceEvent: (event) => {
        const level =
          event.type === 'InstanceCrashed' || event.type === 'InstanceCrashLooping'
            ? 'warn'
            : 'info';
        runtimeLogger[level]({ event }, 'instance event');
        const { app, type: _type, ...data } = event;
        void store
          .appendHistory({
            app,
            type: instanceEventType(event),
            at: new Date(clock.nowMs()).toISOString(),
            data,
          })
          .catch((error: unknown) =>
            runtimeLogger.error({ err: error }, 'could not record an instance event'),
          );
      },
    });
    // Instances a previous daemon started keep running across its restart: supervise them again.
    const adopted = await processRuntime.adopt();
    if (adopted.length > 0)
      runtimeLogger.info({ count: adopted.length }, 'adopted running instances');
    const bound = traffic;
    // The apps of --dns-config get a listener per color and a DNS record moved by the flip.
    const switched: TrafficSwitch =
      dnsConfig === null
        ? bound
        : await createDnsTrafficSwitch({
            inner: bound,
            config: dnsConfig,
            table: buildRoutingTable(state),
            clock,
            logger: logger.child({ component: 'dns' }),
          });
    outer = switched;
    const failpoint = failpointFromEnv(logger);
    // Drift (issue 5): snapshots under the data dir, secrets hashed with the daemon's own salt.
    const drift = createDriftService({
      dataDir: paths.root,
      store,
      salt: await loadDriftSalt(paths.root),
      nowIso: () => new Date(clock.nowMs()).toISOString(),
      logger: logger.child({ component: 'drift' }),
    });
    const controller = new Controller({
      store,
      traffic: switched,
      runtime: createExternalRuntime(),
      processRuntime,
      clock,
      health,
      logger: logger.child({ component: 'controller' }),
      urls: () => ({
        public: selfUrl(bound.publicAddress),
        preview: selfUrl(bound.previewAddress),
      }),
      adopted: () => adopted,
      openDatabase,
      drift,
      ...(failpoint === undefined ? {} : { failpoint }),
    });
    await controller.start();
    const driftMonitor = await startDriftMonitor({
      service: drift,
      store,
      nowMs: () => clock.nowMs(),
      logger: logger.child({ component: 'drift' }),
    });

    const closeTraffic = async (deadlineMs: number): Promise<void> => {
      // Deployments stop at their stored step first: no probe must see the listeners go.
      await controller.pauseDeployments();
      await switched.close(deadlineMs);
    };
    const closeState = async (): Promise<void> => {
      await driftMonitor.stop();
      await controller.stop();
      health.close();
      // Supervision ends; the instances keep running for the next daemon to adopt.
      await processRuntime.close();
      await store.close();
    };
    return {
      store,
      feed,
      clock,
      traffic: switched,
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
    await (outer ?? traffic)?.close(1000).catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}
