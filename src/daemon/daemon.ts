// The daemon's lifecycle: data dir and pid lock, the composed system (state, router, controller),
// the admin API, then daemon.json and the ready line. Stopping runs it all backwards.
import type { Logger } from 'pino';
import type { HealthResponse } from '../client/api-types.ts';
import { composeSystem } from './compose.ts';
import { createAdminServer } from './admin/admin-server.ts';
import { createAdminMetrics } from './admin/admin-metrics.ts';
import { deploymentFlipOf } from './deployment-flip-metrics.ts';
import { prepareDataDir } from './data-dir.ts';
import { removeDaemonInfo, writeDaemonInfo, type DaemonInfo } from './daemon-info.ts';
import type { DaemonOptions } from './daemon-options.ts';
import { DAEMON_VERSION } from './daemon-version.ts';
import { formatHostPort } from './host-port.ts';
import { acquirePidLock } from './pid-lock.ts';
import { listenError } from './port-check.ts';

export interface RunningDaemon {
  readonly info: DaemonInfo;
  /** One human line saying where the daemon listens. */
  readonly readyLine: string;
  /** Graceful stop: stop accepting, let in-flight responses finish with `Connection: close`. */
  stop(): Promise<void>;
}

/** Leaves room inside the hard deadline for closing the store and removing files. */
const STOP_MARGIN_MS = 500;

export async function startDaemon(options: DaemonOptions, logger: Logger): Promise<RunningDaemon> {
  const paths = await prepareDataDir(options.dataDir);
  const lock = await acquirePidLock(paths.pidFile);
  if (lock.tookOver)
    logger.warn({ pidFile: paths.pidFile }, 'took over the lock of a daemon that is gone');
  const cleanups: (() => Promise<void>)[] = [() => lock.release()];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'cleanup failed'));
    }
  };
  const closeBudgetMs = Math.max(100, options.shutdownTimeoutMs - STOP_MARGIN_MS);

  try {
    const system = await composeSystem({ options, paths, logger });
    cleanups.push(() => system.close(closeBudgetMs));

    const publicAddress = formatHostPort(system.publicAddress);
    const previewAddress = formatHostPort(system.previewAddress);
    const health: HealthResponse = {
      ok: true,
      version: DAEMON_VERSION,
      pid: process.pid,
      public: publicAddress,
      preview: previewAddress,
    };
    const metrics = createAdminMetrics();
    // Deployments flip through the controller, not the admin routes that count flips.
    const counting = new AbortController();
    cleanups.push(() => {
      counting.abort();
      return Promise.resolve();
    });
    void system.feed
      .follow(
        {},
        {
          signal: counting.signal,
          send: (event) => {
            const flip = deploymentFlipOf(event);
            if (flip !== null) metrics.flipCommitted(flip.app, flip.kind, flip.durationMs);
          },
        },
      )
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'stopped counting deployment flips');
      });
    const admin = await createAdminServer({
      socketPath: paths.adminSocket,
      tcp:
        options.adminTcp === null || options.adminToken === null
          ? null
          : { address: options.adminTcp, token: options.adminToken },
      logger,
      context: {
        controller: system.controller,
        describeTraffic: () => system.traffic.describe(),
        audit: async (entry) => {
          await system.store.appendHistory({
            app: entry.app,
            type: 'audit',
            at: new Date(system.clock.nowMs()).toISOString(),
            data: { ...entry },
          });
        },
        metrics,
        health: () => health,
        followHistory: (query, sink) => system.feed.follow(query, sink),
      },
    }).catch((error: unknown) => {
      throw listenError(
        error,
        options.adminTcp === null ? [] : [{ flag: '--admin-tcp', address: options.adminTcp }],
      );
    });
    // Admin first in the stop order: no new mutation while the router drains.
    cleanups.push(() => admin.close(closeBudgetMs));

    const info: DaemonInfo = {
      pid: process.pid,
      version: DAEMON_VERSION,
      startedAt: new Date(system.clock.nowMs()).toISOString(),
      public: system.publicAddress,
      preview: system.previewAddress,
      admin: {
        socket: paths.adminSocket,
        ...(admin.tcpAddress === null
          ? {}
          : {
              tcp: {
                ...admin.tcpAddress,
                url: `http://${formatHostPort(admin.tcpAddress)}`,
              },
            }),
      },
    };
    await writeDaemonInfo(paths.daemonInfo, info);
    cleanups.push(() => removeDaemonInfo(paths.daemonInfo, process.pid));
    logger.info({ info }, 'daemon ready');

    const adminText =
      info.admin.tcp === undefined
        ? paths.adminSocket
        : `${paths.adminSocket} and ${info.admin.tcp.url}`;
    return {
      info,
      readyLine: `cutover daemon ready: public http://${publicAddress}, preview http://${previewAddress}, admin ${adminText} (pid ${process.pid})`,
      stop: async () => {
        // daemon.json goes first (nobody should find a stopping daemon); the admin API and the
        // listeners stop accepting together; the controller and the store close once no admin
        // request can still use them; the lock goes last.
        cleanups.splice(0);
        await removeDaemonInfo(paths.daemonInfo, process.pid);
        await Promise.all([admin.close(closeBudgetMs), system.closeTraffic(closeBudgetMs)]);
        await system.closeState();
        await lock.release();
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
