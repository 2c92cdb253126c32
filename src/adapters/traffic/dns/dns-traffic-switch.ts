// DNS switching as a TrafficSwitch (issue 5): for the apps of the DNS config, each color gets its
// own listener (a pinned router) and a DNS record points at the live color's address, moved by
// RFC 2136 updates. Everything else (the public and preview listeners, the other apps) is the
// wrapped switch's.
//
// The flip over DNS, as `apply` sees the routing tables:
// - a release placed on the idle color lowers the record's TTL (the live address re-published
//   with `lowTtl`), so that by the flip few clients hold the record long;
// - a new live color replaces the record with its address (one UPDATE), awaited: a failed
//   update fails `apply`, so the controller keeps the old color and reports it;
// - `drain(app, old)` waits until every client that respects the TTL has let go of the old
//   address (the latest time it was still published plus that publication's TTL, plus a margin),
//   meanwhile the old color keeps serving stragglers on its listener; then it drains the old
//   color and puts the normal TTL back. `apply` never waits for a TTL.
//
// Canary, rolling and mirroring over DNS: the live color's own listener applies the app's split
// and mirror, as the shared public listener does (pinned-router.ts), in the same `apply` that
// sets or clears them on the shared router. Its counts for the other color (the canary's share)
// are merged into that color's in `describe`, so the canary analysis judges every request the
// canary served, whichever listener it came through.
import type { Logger } from 'pino';
import type { AppRoute, RouteTarget, RoutingTable } from '../../../core/routing-table.ts';
import { COLORS, otherColor } from '../../../core/types.ts';
import type { Address, Color } from '../../../core/types.ts';
import type { Clock } from '../../../ports/clock.ts';
import type {
  ApplyReport,
  ColorTraffic,
  DrainOptions,
  DrainReport,
  TrafficSnapshot,
  TrafficSwitch,
} from '../../../ports/traffic-switch.ts';
import type { ListenerLimits } from '../../../router/router-listener.ts';
import type { DnsAppConfig, DnsConfig } from './dns-config.ts';
import { createDnsUpdateClient } from './dns-update-client.ts';
import type { DnsUpdateClient } from './dns-update-client.ts';
import { startPinnedRouter } from './pinned-router.ts';
import type { PinnedRoute, PinnedRouter } from './pinned-router.ts';

export interface DnsTrafficSwitchOptions {
  /** The switch that serves the public and preview listeners (the built-in router). */
  readonly inner: TrafficSwitch;
  readonly config: DnsConfig;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Defaults to a client of `config.server` with `config.key`. */
  readonly client?: DnsUpdateClient;
  readonly limits?: Partial<ListenerLimits>;
  readonly trustedProxies?: readonly string[];
  /**
   * The stored routing table of a restarting daemon: each color's listener serves from it from
   * the first accepted connection (the live color serves; the record is checked at the first
   * `apply`).
   */
  readonly table?: RoutingTable;
}

/** What the switch knows about one DNS app; the published record is the source of its timing. */
export interface DnsAppView {
  readonly app: string;
  readonly live: Color | null;
  /** What the last successful update put in the record. */
  readonly published: { readonly address: string; readonly ttl: number } | null;
  /** Monotonic ms until which a client respecting the TTL may still use each color's address. */
  readonly heldUntilMs: Readonly<Record<Color, number>>;
  /** Whether each color's own listener serves its release (live, or old and not yet drained). */
  readonly serving: Readonly<Record<Color, boolean>>;
  readonly stragglers: Readonly<Record<Color, number>>;
  readonly listeners: Readonly<Record<Color, { readonly host: string; readonly port: number }>>;
}

export interface DnsTrafficSwitch<T extends TrafficSwitch = TrafficSwitch> extends TrafficSwitch {
  readonly inner: T;
  /** The DNS apps' state, for status, tests and the benchmark. */
  dnsApps(): readonly DnsAppView[];
}

interface AppEntry {
  readonly name: string;
  readonly config: DnsAppConfig;
  readonly pinned: Record<Color, PinnedRouter>;
  /** Null until the first table: after a start, nothing is known of the record. */
  route: AppRoute | null;
  published: { address: string; ttl: number } | null;
  heldUntilMs: Record<Color, number>;
  /** The old color's listener keeps serving until its drain. */
  window: Record<Color, boolean>;
  /**
   * Since a restart, nothing is known of who still holds the non-live color's address: until
   * its drain (or a release placed on it, or its flip) the clients reaching it are answered by
   * the live color's release, never by a release the record never named.
   */
  unknownHolders: Record<Color, boolean>;
  /** Requests on the color's listener counted while it was not live, before the current window. */
  stragglersBefore: Record<Color, number>;
  /** The listener's request count when the color stopped being live; null while live. */
  leftAtRequests: Record<Color, number | null>;
  /** The drains waiting for the TTL bound, per color; a flip back to the color cancels them. */
  waits: Record<Color, Set<AbortController>>;
  /** Serializes the record's updates: they reach the server in the order they were decided. */
  queue: Promise<unknown>;
}

function colorOfTarget(route: AppRoute | null, color: Color): RouteTarget | null {
  if (route === null) return null;
  if (route.live?.color === color) return route.live;
  if (route.idle?.color === color) return route.idle;
  return null;
}

/**
 * What `color`'s own listener serves for `route`: its release, served while `serving`, with the
 * app's split and mirror while it is the live color. An old color serving its stragglers whose
 * instances are all gone (a rolling deployment replaced them in place) sends them to the live
 * color instead: the new release answers them rather than nothing.
 */
function pinnedRouteOf(
  route: AppRoute | null,
  color: Color,
  serving: boolean,
  toLive = false,
): PinnedRoute {
  const target = colorOfTarget(route, color);
  const live = route?.live ?? null;
  if (route === null || live === null) return { target, serving };
  if (live.color === color) {
    return { target, serving, split: route.split ?? null, mirror: route.mirror ?? null };
  }
  if (serving && (toLive || target === null || target.upstreams.length === 0)) {
    return { target: live, serving };
  }
  return { target, serving };
}

/**
 * The counts of one color on two listeners, added. Every field of ColorTraffic is a count (or a
 * per-bucket count, or a sum of latencies), so each numeric field is added and each array added
 * per entry: a count a router gains later is merged too, never silently dropped.
 */
function addTraffic(a: ColorTraffic, b: ColorTraffic | undefined): ColorTraffic {
  if (b === undefined) return a;
  const total: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b) as [string, unknown][]) {
    const mine = total[key];
    if (typeof value === 'number') {
      total[key] = (typeof mine === 'number' ? mine : 0) + value;
    } else if (Array.isArray(value)) {
      const counts = value as readonly number[];
      const base = Array.isArray(mine) ? (mine as readonly number[]) : [];
      total[key] = Array.from(
        { length: Math.max(counts.length, base.length) },
        (_, index) => (counts[index] ?? 0) + (base[index] ?? 0),
      );
    }
  }
  return total as unknown as ColorTraffic;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

export async function createDnsTrafficSwitch<T extends TrafficSwitch>(
  options: DnsTrafficSwitchOptions & { readonly inner: T },
): Promise<DnsTrafficSwitch<T>> {
  const { inner, config, clock } = options;
  const logger = options.logger;
  const client =
    options.client ?? createDnsUpdateClient({ server: config.server, key: config.key });
  const apps = new Map<string, AppEntry>();
  // Every listener started so far, an app's first color included when its second fails.
  const started: PinnedRouter[] = [];
  try {
    for (const [name, appConfig] of Object.entries(config.apps)) {
      const pinned = {} as Record<Color, PinnedRouter>;
      const stored = options.table?.apps.find((route) => route.app === name) ?? null;
      const storedLive = stored?.live?.color ?? null;
      for (const color of COLORS) {
        // The other color's address answers with the live release until the first table says
        // more (unknownHolders): its clients are stragglers of a flip before the restart.
        const other = storedLive !== null && storedLive !== color;
        pinned[color] = await startPinnedRouter({
          app: name,
          color,
          address: appConfig.colors[color],
          initial: pinnedRouteOf(stored, color, storedLive === color || other, other),
          ...(options.limits === undefined ? {} : { limits: options.limits }),
          ...(options.trustedProxies === undefined
            ? {}
            : { trustedProxies: options.trustedProxies }),
        });
        started.push(pinned[color]);
      }
      apps.set(name, {
        name,
        config: appConfig,
        pinned,
        route: null,
        published: null,
        heldUntilMs: { blue: 0, green: 0 },
        window: { blue: false, green: false },
        // A restart: the clients of the non-live color's address are stragglers of a flip before
        // it, counted and answered by the live release until that color's drain.
        unknownHolders: { blue: storedLive === 'green', green: storedLive === 'blue' },
        stragglersBefore: { blue: 0, green: 0 },
        leftAtRequests: {
          blue: storedLive === 'green' ? 0 : null,
          green: storedLive === 'blue' ? 0 : null,
        },
        waits: { blue: new Set(), green: new Set() },
        queue: Promise.resolve(),
      });
    }
  } catch (error) {
    await Promise.all(started.map((router) => router.close(500)));
    throw new Error(
      `cannot listen on a DNS color address of the DNS config: ${(error as Error).message}`,
      { cause: error },
    );
  }

  /** Requests that reached the color's own listener, whichever color served them. */
  const requestsOn = (entry: AppEntry, color: Color): number => {
    const traffic = entry.pinned[color].traffic();
    return traffic === undefined ? 0 : sum(COLORS, (each) => traffic[each].requests);
  };

  const stragglersOf = (entry: AppEntry, color: Color): number => {
    const left = entry.leftAtRequests[color];
    return entry.stragglersBefore[color] + (left === null ? 0 : requestsOn(entry, color) - left);
  };

  const repin = (entry: AppEntry): void => {
    const live = entry.route?.live?.color ?? null;
    for (const color of COLORS) {
      const unknown = live !== null && entry.unknownHolders[color] && !entry.window[color];
      entry.pinned[color].pin(
        pinnedRouteOf(
          entry.route,
          color,
          live === color || entry.window[color] || unknown,
          unknown,
        ),
      );
    }
  };

  /**
   * Publishes `address` with `ttl`, after the updates already queued. Clients may keep the
   * address it replaces until now plus that publication's TTL.
   */
  const publish = (entry: AppEntry, address: string, ttl: number): Promise<void> => {
    const run = async (): Promise<void> => {
      const previous = entry.published;
      if (previous !== null && previous.address === address && previous.ttl === ttl) return;
      const { config: app } = entry;
      const result = await client.replaceAddress(app.zone, app.record, address, ttl);
      const now = clock.monotonicMs();
      if (previous !== null) {
        for (const color of COLORS) {
          if (app.colors[color].host === previous.address) {
            entry.heldUntilMs[color] = Math.max(
              entry.heldUntilMs[color],
              now + previous.ttl * 1000,
            );
          }
        }
      }
      entry.published = { address, ttl };
      logger?.info(
        {
          app: entry.name,
          record: app.record,
          address,
          ttl,
          transport: result.transport,
          durationMs: result.durationMs,
        },
        'DNS record published',
      );
    };
    const done = entry.queue.then(run, run);
    entry.queue = done.catch(() => undefined);
    return done;
  };

  /** The DNS side of one app's new route; resolves once the record says what the route says. */
  const follow = async (entry: AppEntry, route: AppRoute | undefined): Promise<void> => {
    const before = entry.route;
    const next = route ?? null;
    const wasLive = before?.live?.color ?? null;
    const live = next?.live?.color ?? null;
    const { config: app } = entry;
    // What a flip whose record update fails puts back: the record still names the old color.
    const saved = {
      window: { ...entry.window },
      unknownHolders: { ...entry.unknownHolders },
      stragglersBefore: { ...entry.stragglersBefore },
      leftAtRequests: { ...entry.leftAtRequests },
    };
    if (before === null) {
      // First table since start: nothing is known of who still holds the old address, so each
      // color counts as held for a full TTL from now.
      const now = clock.monotonicMs();
      entry.heldUntilMs = { blue: now + app.ttl * 1000, green: now + app.ttl * 1000 };
    }
    if (live !== wasLive) {
      if (wasLive !== null) {
        entry.window[wasLive] = true;
        entry.leftAtRequests[wasLive] = requestsOn(entry, wasLive);
      }
      if (live !== null) {
        const left = entry.leftAtRequests[live];
        if (left !== null) entry.stragglersBefore[live] += requestsOn(entry, live) - left;
        entry.leftAtRequests[live] = null;
        entry.window[live] = false;
        entry.unknownHolders[live] = false;
      }
    }
    const idle = live === null ? null : otherColor(live);
    const placed =
      before !== null &&
      live === wasLive &&
      idle !== null &&
      next?.idle?.release !== undefined &&
      next.idle.release !== before.idle?.release;
    // A new release on the idle color is never served to stragglers of an older one.
    if (placed) {
      entry.window[idle] = false;
      entry.unknownHolders[idle] = false;
    }
    entry.route = next;
    repin(entry);

    if (live === null) return;
    // The drains of the new live color waiting for the TTL end: it serves again. A flip's only
    // once its record moved, so a failed flip leaves them waiting.
    const cancelDrains = (): void => {
      if (live !== wasLive) for (const wait of entry.waits[live]) wait.abort();
    };
    const address = app.colors[live].host;
    const flipping = live !== wasLive && before !== null && entry.published?.address !== address;
    if (!flipping) cancelDrains();
    if (entry.published?.address !== address) {
      // The flip: the first publication gets the normal TTL, a later one the low TTL, which
      // stays until the old color is drained (a rollback meanwhile reaches clients as fast).
      // A restart's first table with a split or mirror on is a deployment before its flip: its
      // release was placed, so the record keeps the low TTL it was given then.
      const shifting = next?.split != null || next?.mirror != null;
      const ttl = wasLive === null && !shifting ? app.ttl : app.lowTtl;
      const published = publish(entry, address, ttl);
      // Only a flip fails with the record; any other table (a restart's first one included)
      // serves on, and the next table tries the record again.
      if (live !== wasLive && before !== null) {
        try {
          await published;
        } catch (error) {
          // The controller keeps the old color and puts its table back: so do the listeners,
          // unless a newer table came meanwhile. The new color never served its address.
          if (entry.route === next) {
            entry.route = before;
            entry.window = saved.window;
            entry.unknownHolders = saved.unknownHolders;
            entry.stragglersBefore = saved.stragglersBefore;
            entry.leftAtRequests = saved.leftAtRequests;
            repin(entry);
          }
          throw error;
        }
        cancelDrains();
        return;
      }
      await published.catch((error: unknown) => {
        logger?.error({ err: error, app: entry.name }, 'could not publish the DNS record');
      });
    } else if (placed && entry.published.ttl !== app.lowTtl) {
      await publish(entry, address, app.lowTtl).catch((error: unknown) => {
        // The flip still works; the drain then waits for the normal TTL instead.
        logger?.warn({ err: error, app: entry.name }, 'could not lower the TTL of the DNS record');
      });
    }
  };

  /** Set by close(): a drain asked after it waits for no TTL, its listeners are gone. */
  let closed = false;

  const cancelledReport = (app: string, color: Color, startedMs: number): DrainReport => ({
    app,
    color,
    completed: 0,
    aborted: 0,
    websocketsClosed: 0,
    durationMs: clock.monotonicMs() - startedMs,
    cancelled: true,
  });

  return {
    inner,
    async apply(table: RoutingTable): Promise<ApplyReport> {
      const report = await inner.apply(table);
      if (table.generation < report.generation) return report;
      const failures: unknown[] = [];
      await Promise.all(
        [...apps.values()].map((entry) =>
          follow(
            entry,
            table.apps.find((route) => route.app === entry.name),
          ).catch((error: unknown) => failures.push(error)),
        ),
      );
      if (failures.length > 0) throw failures[0];
      return report;
    },

    async drain(app: string, color: Color, drainOptions: DrainOptions): Promise<DrainReport> {
      const entry = apps.get(app);
      if (entry === undefined) return inner.drain(app, color, drainOptions);
      const startedMs = clock.monotonicMs();
      if (closed || entry.route?.live?.color === color) {
        return cancelledReport(app, color, startedMs);
      }
      // Every client that respects the TTL has let go of the old address by then.
      const deadlineMs = entry.heldUntilMs[color] + entry.config.marginMs;
      const wait = deadlineMs - startedMs;
      if (wait > 0) {
        const controller = new AbortController();
        entry.waits[color].add(controller);
        logger?.info(
          { app, color, waitMs: Math.round(wait) },
          'waiting for the DNS TTL before the drain',
        );
        try {
          await clock.sleep(wait, controller.signal);
        } catch {
          return cancelledReport(app, color, startedMs);
        } finally {
          entry.waits[color].delete(controller);
        }
        if (entry.route?.live?.color === color) return cancelledReport(app, color, startedMs);
      }
      entry.window[color] = false;
      entry.unknownHolders[color] = false;
      repin(entry);
      // The other color's listener drains the requests its split sent to this color.
      const reports = await Promise.all([
        inner.drain(app, color, drainOptions),
        ...COLORS.map((each) => entry.pinned[each].drain(color, drainOptions)),
      ]);
      // Back to the normal TTL once nothing depends on a quick change any more.
      const live = entry.route?.live?.color ?? null;
      const cancelled = reports.some((each) => each.cancelled);
      if (live !== null && !cancelled) {
        await publish(entry, entry.config.colors[live].host, entry.config.ttl).catch(
          (error: unknown) => {
            logger?.warn(
              { err: error, app },
              'could not put the normal TTL back on the DNS record',
            );
          },
        );
      }
      return {
        app,
        color,
        completed: sum(reports, (each) => each.completed),
        aborted: sum(reports, (each) => each.aborted),
        websocketsClosed: sum(reports, (each) => each.websocketsClosed),
        durationMs: clock.monotonicMs() - startedMs,
        cancelled,
      };
    },

    setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void {
      inner.setUpstreamHealth(health);
      for (const entry of apps.values()) {
        for (const color of COLORS) entry.pinned[color].setUpstreamHealth(health);
      }
    },

    async describe(): Promise<TrafficSnapshot> {
      const snapshot = await inner.describe();
      const merged: Record<string, Readonly<Record<Color, ColorTraffic>>> = { ...snapshot.apps };
      const empty: ColorTraffic = {
        inflight: 0,
        websockets: 0,
        requests: 0,
        failed: 0,
        serverErrors: 0,
      };
      for (const entry of apps.values()) {
        const base = merged[entry.name];
        const colors = {} as Record<Color, ColorTraffic>;
        for (const color of COLORS) {
          // Both listeners: a color's own, and the live one's split and mirror to it.
          let traffic = base?.[color] ?? empty;
          for (const each of COLORS)
            traffic = addTraffic(traffic, entry.pinned[each].traffic()?.[color]);
          colors[color] = { ...traffic, stragglers: stragglersOf(entry, color) };
        }
        merged[entry.name] = colors;
      }
      return { ...snapshot, apps: merged };
    },

    async close(deadlineMs?: number): Promise<void> {
      closed = true;
      for (const entry of apps.values()) {
        for (const color of COLORS) for (const wait of entry.waits[color]) wait.abort();
      }
      await Promise.all([
        inner.close(deadlineMs),
        ...[...apps.values()].flatMap((entry) =>
          COLORS.map((color) => entry.pinned[color].close(deadlineMs ?? 10_000)),
        ),
      ]);
    },

    dnsApps(): readonly DnsAppView[] {
      return [...apps.values()].map((entry) => ({
        app: entry.name,
        live: entry.route?.live?.color ?? null,
        published: entry.published,
        heldUntilMs: { ...entry.heldUntilMs },
        serving: {
          blue: entry.route?.live?.color === 'blue' || entry.window.blue,
          green: entry.route?.live?.color === 'green' || entry.window.green,
        },
        stragglers: { blue: stragglersOf(entry, 'blue'), green: stragglersOf(entry, 'green') },
        listeners: { blue: entry.pinned.blue.address, green: entry.pinned.green.address },
      }));
    },
  };
}
