// The built-in data plane as a TrafficSwitch: the public and preview listeners over a Router.
import type { Logger } from 'pino';
import type { RoutingTable } from '../../../core/routing-table.ts';
import type { Address, Color } from '../../../core/types.ts';
import type {
  ApplyReport,
  DrainOptions,
  DrainReport,
  TrafficSnapshot,
  TrafficSwitch,
} from '../../../ports/traffic-switch.ts';
import { listenRouter } from '../../../router/router-listener.ts';
import type { BoundListener, ListenerLimits } from '../../../router/router-listener.ts';
import { Router } from '../../../router/router.ts';
import type { UpstreamPoolOptions } from '../../../router/upstream-pools.ts';

/** How long `close()` waits for in-flight responses when no deadline is given. */
export const CLOSE_DEADLINE_MS = 10_000;
/** How often `close()` closes the connections that became idle after their last response. */
const CLOSE_POLL_MS = 25;

export interface BuiltinTrafficSwitchOptions {
  /** Port 0 binds an ephemeral port; the bound one is in `publicAddress`. */
  public: { host: string; port: number };
  preview: { host: string; port: number };
  /** Router threads; 1 runs the router in the calling thread. */
  workers?: number;
  /** Peers whose X-Forwarded-* are kept (appended to). */
  trustedProxies?: readonly string[];
  logger?: Logger;
  /** Client-side timeouts and limits (tests set them low). */
  limits?: Partial<ListenerLimits>;
  /** Upstream pool timeouts. */
  upstream?: Partial<UpstreamPoolOptions>;
}

export interface BuiltinTrafficSwitch extends TrafficSwitch {
  readonly publicAddress: { host: string; port: number };
  readonly previewAddress: { host: string; port: number };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function closeServer(listener: BoundListener): Promise<void> {
  return new Promise((resolve) => listener.server.close(() => resolve()));
}

export async function createBuiltinTrafficSwitch(
  o: BuiltinTrafficSwitchOptions,
): Promise<BuiltinTrafficSwitch> {
  const router = new Router({
    ...(o.trustedProxies === undefined ? {} : { trustedProxies: o.trustedProxies }),
    ...(o.upstream === undefined ? {} : { upstream: o.upstream }),
  });
  const limits = o.limits === undefined ? {} : { limits: o.limits };
  const publicListener = await listenRouter(router, 'public', { ...o.public, ...limits });
  let previewListener: BoundListener;
  try {
    previewListener = await listenRouter(router, 'preview', { ...o.preview, ...limits });
  } catch (error) {
    await closeServer(publicListener);
    throw error;
  }
  const listeners = [publicListener, previewListener];
  for (const listener of listeners) {
    listener.server.on('error', (error) =>
      o.logger?.error({ err: error }, 'router listener error'),
    );
  }
  let closed: Promise<void> | null = null;

  async function close(deadlineMs: number = CLOSE_DEADLINE_MS): Promise<void> {
    const started = performance.now();
    router.beginClose();
    const serversClosed = Promise.all(listeners.map(closeServer));
    // In-flight responses finish (with Connection: close); idle connections close at once.
    while (router.openCount() > 0 && performance.now() - started < deadlineMs * 0.8) {
      for (const listener of listeners) listener.server.closeIdleConnections();
      await sleep(CLOSE_POLL_MS);
    }
    await router.destroy();
    for (const listener of listeners) listener.server.closeAllConnections();
    await serversClosed;
  }

  return {
    publicAddress: publicListener.address,
    previewAddress: previewListener.address,
    apply(table: RoutingTable): Promise<ApplyReport> {
      const started = performance.now();
      router.apply(table);
      return Promise.resolve({
        generation: router.generation,
        durationMs: performance.now() - started,
        workers: 1,
      });
    },
    drain(app: string, color: Color, options: DrainOptions): Promise<DrainReport> {
      return router.drain(app, color, options);
    },
    setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void {
      router.setUpstreamHealth(health);
    },
    describe(): Promise<TrafficSnapshot> {
      return Promise.resolve({ generation: router.generation, workers: 1, apps: router.traffic() });
    },
    close(deadlineMs?: number): Promise<void> {
      closed ??= close(deadlineMs);
      return closed;
    },
  };
}
