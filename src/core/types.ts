// The vocabulary of cutover (DESIGN.md glossary) as types. Pure data: no I/O, no clock reads.

/** One of the two environments of an app. */
export type Color = 'blue' | 'green';

export const COLORS: readonly Color[] = ['blue', 'green'];

/** The other color: the idle one when `color` is live. */
export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/** An upstream address `host:port` (IPv6 hosts in brackets: `[::1]:3000`). */
export type Address = string;

/** How an instance is judged healthy (active checks; rise/fall thresholds like HAProxy's). */
export interface HealthCheckSpec {
  /** HTTP path requested with GET; a 2xx or 3xx answer is a pass. */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive passes before an instance counts as up. */
  readonly rise: number;
  /** Consecutive failures before an instance counts as down. */
  readonly fall: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckSpec = {
  path: '/',
  intervalMs: 1000,
  timeoutMs: 2000,
  rise: 2,
  fall: 3,
};

/** One running process of a release, reachable at one address. */
export interface InstanceSpec {
  readonly id: string;
  readonly address: Address;
}

/** One version of the app, as placed into a color. */
export interface Release {
  readonly id: string;
  readonly instances: readonly InstanceSpec[];
  readonly health: HealthCheckSpec;
  /** ISO-8601 time the release was placed into its color. */
  readonly placedAt: string;
}

/** The instances of one color of one app. */
export interface Environment {
  readonly color: Color;
  readonly release: Release | null;
}

/** One committed flip, as recorded in the app's history. */
export interface FlipRecord {
  readonly generation: number;
  readonly from: Color | null;
  readonly to: Color;
  readonly release: string;
  readonly kind: 'deploy' | 'flip' | 'rollback';
  /** ISO-8601 time the flip was committed. */
  readonly at: string;
  /** Milliseconds from the command to the commit on every router worker. */
  readonly durationMs: number;
}

/**
 * A share of an app's public traffic sent to its idle color while the live color keeps the
 * rest (canary steps, rolling batches). Assignment is per client: a client keeps its bucket
 * (0..9999, in a cookie the router sets) across requests, so raising `percent` keeps every
 * client already on `color` there; `sticky: false` picks per request instead (rolling).
 */
export interface TrafficSplit {
  /** The color that gets the share: the idle one; the live color serves everything else. */
  readonly color: Color;
  /** 0..100, up to two decimals (basis points of traffic / 100). */
  readonly percent: number;
  readonly sticky: boolean;
  /** Requests carrying this header (or cookie) with this value go to `color` at any percent. */
  readonly allow: {
    readonly header: { readonly name: string; readonly value: string } | null;
    readonly cookie: { readonly name: string; readonly value: string } | null;
  };
}

/** A copy of live requests sent to the idle color, responses discarded (never slows live). */
export interface TrafficMirror {
  readonly color: Color;
  /** At most this many copies per second per router worker; the rest are not mirrored. */
  readonly maxPerSecond: number;
  /** Request bodies above this many bytes are not mirrored (the live request is unaffected). */
  readonly maxBodyBytes: number;
}

/** Upper bounds (ms) of the latency buckets of the router's per-color latency counts (`ColorTraffic.latency`). */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
];

/** The sticky-assignment cookie the router sets: `cutover_<app>=<bucket 0..9999>`. */
export const SPLIT_COOKIE_PREFIX = 'cutover_';
/** Buckets of the sticky assignment: a percent with two decimals is exact over them. */
export const SPLIT_BUCKETS = 10_000;

/** Everything cutover knows about one app. Replaced wholesale on each change. */
export interface AppState {
  readonly name: string;
  /** Host names routed to this app; empty means the catch-all app (at most one). */
  readonly hosts: readonly string[];
  readonly live: Color | null;
  /** The previous live color, kept warm for rollback; null once retired or before any flip. */
  readonly standby: Color | null;
  readonly environments: Readonly<Record<Color, Environment>>;
  readonly flips: readonly FlipRecord[];
  /** A traffic share on the idle color (canary, rolling); absent or null: all on live. */
  readonly split?: TrafficSplit | null;
  /** Mirroring of live requests to the idle color; absent or null: none. */
  readonly mirror?: TrafficMirror | null;
}

/** The whole routed state of a daemon: every app, with the store revision it was read at. */
export interface DaemonState {
  readonly revision: number;
  readonly apps: Readonly<Record<string, AppState>>;
}

/** How many flips each app keeps in its state record (older ones live in history). */
export const FLIP_HISTORY_LIMIT = 20;
