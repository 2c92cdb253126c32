// One color's own listener in DNS mode: a Router on that color's address whose table holds one
// route, the color's release, for every Host. The DNS record sends clients here while the color
// is live; after a flip, clients still holding the old record (stragglers) keep arriving here and
// are served by the old color until it is drained.
//
// While the color is live its route also carries the app's split and mirror (canary, rolling,
// --mirror), so the clients that follow the record get the same per-request share, sticky
// cookie and allowlist as those of the shared public listener: the split happens here, exact
// and sticky, not bound by any TTL. The other color's target is then the route's idle one, so
// its upstream pools stay open between requests.
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
  readonly initial?: PinnedRoute;
}

/** What one color's own listener serves. */
export interface PinnedRoute {
  /** This color's release. */
  readonly target: RouteTarget | null;
  /** Serves `target` when true, else answers 503 (no live color). */
  readonly serving: boolean;
  /** The app's split while this color is live: its target is the other color's. */
  readonly split?: AppRoute['split'];
  /** The app's mirror while this color is live: its target is the other color's. */
  readonly mirror?: AppRoute['mirror'];
}

export interface PinnedRouter {
  readonly color: Color;
  readonly address: HostPortAddress;
  /** Replaces what this listener serves (one table swap: atomic for the requests it routes). */
  pin(route: PinnedRoute): void;
  /** Drains `color` on this listener: its own color, or the split's color it sent requests to. */
  drain(color: Color, options: DrainOptions): Promise<DrainReport>;
  setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void;
  /**
   * This listener's counters per color: its own color's, and the other color's for the
   * requests its split sent there and the copies its mirror sent there.
   */
  traffic(): Readonly<Record<Color, ColorTraffic>> | undefined;
  close(deadlineMs: number): Promise<void>;
}

/**
 * The pinned router's one route. Only a serving color with a release applies a split or a
 * mirror, and only one that goes to the other color.
 */
export function pinnedAppRoute(app: string, pinned: PinnedRoute): AppRoute {
  const { target, serving } = pinned;
  if (!serving || target === null) return { app, hosts: [], live: null, idle: target };
  const split = pinned.split?.target.color === target.color ? null : (pinned.split ?? null);
  const mirror = pinned.mirror?.target.color === target.color ? null : (pinned.mirror ?? null);
  return {
    app,
    hosts: [],
    live: target,
    idle: split?.target ?? mirror?.target ?? null,
    split,
    mirror,
  };
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
  const pin = (pinned: PinnedRoute): void => {
    const table: RoutingTable = { generation: ++generation, apps: [pinnedAppRoute(app, pinned)] };
    router.apply(table);
  };
  pin(options.initial ?? { target: null, serving: false });
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
    drain: (drained, drainOptions) => router.drain(app, drained, drainOptions),
    setUpstreamHealth: (health) => router.setUpstreamHealth(health),
    traffic: () => router.traffic()[app],
    close(deadlineMs) {
      closed ??= close(deadlineMs);
      return closed;
    },
  };
}
