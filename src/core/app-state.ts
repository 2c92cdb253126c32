// Pure rules for one app's state: input validation and the next AppState after placing a
// release or flipping. No I/O and no clock reads: callers pass times in.
import { CutoverError } from './errors.ts';
import type { AppState, Color, FlipRecord, HealthCheckSpec, Release } from './types.ts';
import { DEFAULT_HEALTH_CHECK, FLIP_HISTORY_LIMIT, otherColor } from './types.ts';

const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RELEASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME_PATTERN = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const IPV6_PATTERN = /^[0-9A-Fa-f:.]+$/;

/** Longest wait for instances to pass their health checks that a request may ask for. */
export const MAX_HEALTH_TIMEOUT_MS = 3_600_000;

function usage(message: string, details?: Record<string, unknown>): CutoverError {
  return new CutoverError('CUTOVER_ERR_USAGE', message, details);
}

export function validateAppName(name: string): void {
  if (!APP_NAME_PATTERN.test(name)) {
    throw usage(
      `Invalid app name "${name}": use 1-63 lower-case letters, digits and dashes, e.g. "shop".`,
      { field: 'app' },
    );
  }
}

export function validateReleaseId(id: string): void {
  if (!RELEASE_ID_PATTERN.test(id)) {
    throw usage(
      `Invalid release id "${id}": use letters, digits, ".", "_", "+" and "-" (up to 128), starting with a letter or digit, e.g. "v42".`,
      { field: 'release' },
    );
  }
}

export interface ParsedAddress {
  /** Host name or IP, without brackets. */
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port` (`[v6]:port` for IPv6); throws a usage error naming the bad address. */
export function parseAddress(address: string): ParsedAddress {
  const bad = (why: string): CutoverError =>
    usage(
      `Invalid instance address "${address}": ${why}. Expected host:port, e.g. 127.0.0.1:3000 or [::1]:3000.`,
      { field: 'instances', address },
    );
  if (address.includes('/')) throw bad('give only host and port, without a scheme or path');
  const colon = address.lastIndexOf(':');
  if (colon <= 0) throw bad('no port');
  const rawHost = address.slice(0, colon);
  const rawPort = address.slice(colon + 1);
  if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
    throw bad(`port "${rawPort}" is not a number from 1 to 65535`);
  }
  let host: string;
  if (rawHost.startsWith('[')) {
    if (!rawHost.endsWith(']')) throw bad('unclosed "["');
    host = rawHost.slice(1, -1);
    if (!host.includes(':') || !IPV6_PATTERN.test(host))
      throw bad(`"${host}" is not an IPv6 address`);
  } else {
    host = rawHost;
    if (host.includes(':')) throw bad('an IPv6 host needs brackets');
    if (!HOST_NAME_PATTERN.test(host)) throw bad(`"${host}" is not a host name or IP address`);
  }
  return { host, port: Number(rawPort) };
}

/** Checks and normalizes the instance addresses of a release: at least one, no duplicates. */
export function validateAddresses(addresses: readonly string[]): string[] {
  if (addresses.length === 0) {
    throw usage('A release needs at least one instance address (host:port).', {
      field: 'instances',
    });
  }
  const seen = new Set<string>();
  for (const address of addresses) {
    parseAddress(address);
    if (seen.has(address)) {
      throw usage(`Instance address "${address}" is listed twice.`, { field: 'instances' });
    }
    seen.add(address);
  }
  return [...seen];
}

/** Lower-cases and checks the host names routed to an app (no ports, no duplicates). */
export function normalizeHosts(hosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of hosts) {
    const host = raw.toLowerCase();
    if (!HOST_NAME_PATTERN.test(host) || host.length > 253) {
      throw usage(
        `Invalid host "${raw}": give a host name without port or scheme, e.g. shop.example.com.`,
        { field: 'hosts', host: raw },
      );
    }
    if (!out.includes(host)) out.push(host);
  }
  return out;
}

function positiveInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw usage(
      `Invalid ${field}: expected a whole number from 1 to ${max}, got ${String(value)}.`,
      {
        field,
      },
    );
  }
  return value;
}

/** Fills a partial health-check spec from the defaults and checks every field. */
export function resolveHealthSpec(partial: Partial<HealthCheckSpec> = {}): HealthCheckSpec {
  const spec = { ...DEFAULT_HEALTH_CHECK, ...partial };
  if (typeof spec.path !== 'string' || !/^\/[\x21-\x7e]*$/.test(spec.path)) {
    throw usage(
      `Invalid health.path "${String(spec.path)}": expected a path starting with "/", without spaces.`,
      { field: 'health.path' },
    );
  }
  return {
    path: spec.path,
    intervalMs: positiveInt(spec.intervalMs, 'health.intervalMs', 3_600_000),
    timeoutMs: positiveInt(spec.timeoutMs, 'health.timeoutMs', 3_600_000),
    rise: positiveInt(spec.rise, 'health.rise', 100),
    fall: positiveInt(spec.fall, 'health.fall', 100),
  };
}

export function validateHealthTimeout(timeoutMs: unknown): number {
  return positiveInt(timeoutMs, 'healthTimeoutMs', MAX_HEALTH_TIMEOUT_MS);
}

/** Throws CUTOVER_ERR_APP_HOSTS_CONFLICT if `hosts` for `app` collide with another app's. */
export function assertHostsFree(
  apps: Readonly<Record<string, AppState>>,
  app: string,
  hosts: readonly string[],
): void {
  for (const other of Object.values(apps)) {
    if (other.name === app) continue;
    if (hosts.length === 0 && other.hosts.length === 0) {
      throw new CutoverError(
        'CUTOVER_ERR_APP_HOSTS_CONFLICT',
        `App "${app}" has no hosts, which makes it the catch-all, but "${other.name}" already is; give "${app}" its hosts (--hosts).`,
        { app, other: other.name },
      );
    }
    const taken = hosts.find((host) => other.hosts.includes(host));
    if (taken !== undefined) {
      throw new CutoverError(
        'CUTOVER_ERR_APP_HOSTS_CONFLICT',
        `Host "${taken}" is already routed to app "${other.name}"; remove it there or pick another host.`,
        { app, other: other.name, host: taken },
      );
    }
  }
}

/** A new app with no release in either color. */
export function emptyApp(name: string, hosts: readonly string[]): AppState {
  return {
    name,
    hosts: [...hosts],
    live: null,
    standby: null,
    environments: {
      blue: { color: 'blue', release: null },
      green: { color: 'green', release: null },
    },
    flips: [],
  };
}

/**
 * Places `release` into `color` (which must not be live). A standby in that color is replaced,
 * so the app has no standby until the next flip makes the old live color the standby.
 */
export function placeRelease(
  app: AppState,
  color: Color,
  release: Release,
  hosts: readonly string[] = app.hosts,
): AppState {
  if (app.live === color) {
    throw new CutoverError(
      'CUTOVER_ERR_INTERNAL',
      `Refused to place release ${release.id} into the live color ${color} of app "${app.name}".`,
    );
  }
  return {
    ...app,
    hosts: [...hosts],
    standby: app.standby === color ? null : app.standby,
    environments: { ...app.environments, [color]: { color, release } },
  };
}

export interface FlipInput {
  readonly to: Color;
  readonly kind: FlipRecord['kind'];
  /** The store revision the flip is committed at. */
  readonly generation: number;
  readonly at: string;
  readonly durationMs: number;
}

/** The app after a flip to `input.to`: it goes live, the old live color becomes the standby. */
export function flipApp(app: AppState, input: FlipInput): AppState {
  const release = app.environments[input.to].release;
  if (release === null) {
    throw new CutoverError(
      'CUTOVER_ERR_FLIP_NO_TARGET',
      `Cannot flip app "${app.name}" to ${input.to}: that color holds no release. Deploy one first.`,
      { app: app.name, to: input.to },
    );
  }
  if (app.live === input.to) {
    throw usage(`App "${app.name}" is already live on ${input.to}; nothing to flip.`, {
      app: app.name,
      to: input.to,
    });
  }
  const record: FlipRecord = {
    generation: input.generation,
    from: app.live,
    to: input.to,
    release: release.id,
    kind: input.kind,
    at: input.at,
    durationMs: input.durationMs,
  };
  return {
    ...app,
    live: input.to,
    standby: app.live,
    flips: [...app.flips, record].slice(-FLIP_HISTORY_LIMIT),
    // A flip moves all traffic: no share or mirror survives it.
    split: null,
    mirror: null,
  };
}

/** Records the measured duration on the flip committed at `generation`. */
export function withFlipDuration(app: AppState, generation: number, durationMs: number): AppState {
  return {
    ...app,
    flips: app.flips.map((flip) =>
      flip.generation === generation ? { ...flip, durationMs } : flip,
    ),
  };
}

/** The color a manual flip goes to: `to` if given, else the one that is not live. */
export function flipTargetOf(app: AppState, to?: Color): Color {
  if (to !== undefined) return to;
  return app.live === null ? 'blue' : otherColor(app.live);
}

/** The color a rollback goes to; throws CUTOVER_ERR_ROLLBACK_NO_STANDBY when there is none. */
export function rollbackTargetOf(app: AppState): Color {
  const standby = app.standby;
  if (standby === null || app.environments[standby].release === null) {
    throw new CutoverError(
      'CUTOVER_ERR_ROLLBACK_NO_STANDBY',
      `App "${app.name}" has no standby to roll back to: it needs two deployments first, or the standby was replaced by a new release.`,
      { app: app.name },
    );
  }
  return standby;
}

export function roleOf(app: AppState, color: Color): 'live' | 'standby' | 'idle' {
  if (app.live === color) return 'live';
  if (app.standby === color) return 'standby';
  return 'idle';
}
