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
}

/** The whole routed state of a daemon: every app, with the store revision it was read at. */
export interface DaemonState {
  readonly revision: number;
  readonly apps: Readonly<Record<string, AppState>>;
}

/** How many flips each app keeps in its state record (older ones live in history). */
export const FLIP_HISTORY_LIMIT = 20;
