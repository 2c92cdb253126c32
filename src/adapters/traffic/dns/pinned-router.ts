// One color's own listener in DNS mode: a Router on that color's address whose table holds one
// route, the color's release, for every Host. The DNS record sends clients here while the color
// is live; after a flip, clients still holding the old record (stragglers) keep arriving here and
// are served by the old color until it is drained.
import type { AppRoute, RouteTarget, RoutingTable } from '../../../core/routing-table.ts';
import type { Address, Color } from '../../../core/types.ts';
import type { ColorTraffic, DrainOptions, DrainReport } from '../../../ports/traffic-switch.ts';
import { listenRouter } from '../../../router/router-listener.ts';
import type { BoundListener, ListenerLimits } from '../../../router/router-listener.ts';
import { Router } from '../../../router/router.ts';
import type { HostPortAddress } from './dns-config.ts';

/** How often `close()` closes the connections that became idle after their last response. */
const CLOSE_POLL_MS = 25;

export interface PinnedRouterOptions {
  readonly app: string;
  readonly color: Color;
  readonly address: HostPortAddress;
  readonly limits?: Partial<ListenerLimits>;
  readonly trustedProxies?: readonly string[];
  /** What to serve from the first accepted connection (a restarted daemon's stored route). */
  readonly initial?: { readonly target: RouteTarget | null; readonly serving: boolean };
}

export interface PinnedRouter {
  readonly color: Color;
  readonly address: HostPortAddress;
  /** Serves `target` (this color's release) when `serving`, else answers 503 (no live color). */
  pin(target: RouteTarget | null, serving: boolean): void;
  drain(options: DrainOptions): Promise<DrainReport>;
  setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void;
  /** This listener's counters for its color. */
  traffic(): ColorTraffic | undefined;
  close(deadlineMs: number): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startPinnedRouter(options: PinnedRouterOptions): Promise<PinnedRouter> {
  const { app, color } = options;
  const router = new Router(
    options.trustedProxies === undefined ? {} : { trustedProxies: options.trustedProxies },
  );
  // The pinned table's generation is this router's own: it changes on drains too, not only
  // with the daemon's table.
  let generation = 0;
  const pin = (target: RouteTarget | null, serving: boolean): void => {
    const route: AppRoute = {
      app,
      hosts: [],
      live: serving ? target : null,
      idle: serving ? null : target,
    };
    const table: RoutingTable = { generation: ++generation, apps: [route] };
    router.apply(table);
  };
  pin(options.initial?.target ?? null, options.initial?.serving ?? false);
  const listener: BoundListener = await listenRouter(router, 'public', {
    host: options.address.host,
    port: options.address.port,
    fastPath: true,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  let closed: Promise<void> | null = null;

  async function close(deadlineMs: number): Promise<void> {
    const started = performance.now();
    router.beginClose();
    const stopped = listener.stopAccepting();
    while (router.openCount() > 0 && performance.now() - started < deadlineMs * 0.8) {
      listener.closeIdle();
      await sleep(CLOSE_POLL_MS);
    }
    await router.destroy();
    listener.closeAll();
    await stopped;
  }

  return {
    color,
    address: { host: options.address.host, port: listener.address.port },
    pin,
    drain: (drainOptions) => router.drain(app, color, drainOptions),
    setUpstreamHealth: (health) => router.setUpstreamHealth(health),
    traffic: () => router.traffic()[app]?.[color],
    close(deadlineMs) {
      closed ??= close(deadlineMs);
      return closed;
    },
  };
}
