// The routing-table model: one immutable object the router swaps wholesale (DESIGN.md, data plane).
import type {
  Address,
  AppState,
  Color,
  DaemonState,
  TrafficMirror,
  TrafficSplit,
} from './types.ts';

/** Where one color of one app is served. */
export interface RouteTarget {
  readonly color: Color;
  readonly release: string;
  readonly upstreams: readonly Address[];
}

/** One app's routes: the live target serves the public listener, the idle one the preview. */
export interface AppRoute {
  readonly app: string;
  /** Lower-case host names without port; empty for the catch-all app. */
  readonly hosts: readonly string[];
  readonly live: RouteTarget | null;
  readonly idle: RouteTarget | null;
  /**
   * A share of the public traffic on the idle target (canary, rolling); null: all on live.
   * Only set when both live and idle hold a release.
   */
  readonly split?: (TrafficSplit & { readonly target: RouteTarget }) | null;
  /** Copies of public requests sent to the idle target; null: none. */
  readonly mirror?: (TrafficMirror & { readonly target: RouteTarget }) | null;
}

/** The complete routing table. `generation` only grows; a router ignores an older one. */
export interface RoutingTable {
  readonly generation: number;
  readonly apps: readonly AppRoute[];
}

export const EMPTY_ROUTING_TABLE: RoutingTable = { generation: 0, apps: [] };

function targetOf(app: AppState, color: Color | null): RouteTarget | null {
  if (color === null) return null;
  const release = app.environments[color].release;
  if (release === null) return null;
  return {
    color,
    release: release.id,
    upstreams: release.instances.map((instance) => instance.address),
  };
}

/** The idle color: the one that is not live (blue before any flip). */
export function idleColorOf(app: AppState): Color {
  if (app.live === null) return 'blue';
  return app.live === 'blue' ? 'green' : 'blue';
}

/** Derives the routing table from stored state; the store revision is the generation. */
export function buildRoutingTable(state: DaemonState): RoutingTable {
  const apps = Object.values(state.apps)
    .map((app): AppRoute => {
      const live = targetOf(app, app.live);
      const idle = targetOf(app, idleColorOf(app));
      const split = app.split ?? null;
      const mirror = app.mirror ?? null;
      return {
        app: app.name,
        hosts: app.hosts.map((host) => host.toLowerCase()),
        live,
        idle,
        split:
          split === null || live === null || idle === null || split.color !== idle.color
            ? null
            : { ...split, target: idle },
        mirror:
          mirror === null || live === null || idle === null || mirror.color !== idle.color
            ? null
            : { ...mirror, target: idle },
      };
    })
    .sort((a, b) => a.app.localeCompare(b.app));
  return { generation: state.revision, apps };
}

/** Finds the app serving `host` (lower-case, without port): exact match first, then the catch-all. */
export function findAppRoute(table: RoutingTable, host: string): AppRoute | undefined {
  let catchAll: AppRoute | undefined;
  for (const route of table.apps) {
    if (route.hosts.length === 0) catchAll = route;
    else if (route.hosts.includes(host)) return route;
  }
  return catchAll;
}
