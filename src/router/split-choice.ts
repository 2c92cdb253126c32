// The per-request choice of a traffic split (canary, rolling): which color of an app serves one
// public request, and whether the router must hand the client a sticky bucket. Pure: the caller
// passes the request's validated fields and the random source.
//
// Sticky assignment: each client holds a bucket 0..SPLIT_BUCKETS-1 in the cookie
// `cutover_<app>`; a bucket under `percent * 100` is on the split color. The threshold only
// grows with the percent, so raising it never moves a client off the split color, and lowering
// it (or clearing the split) moves exactly the buckets above the new threshold back.
import type { TrafficSplit } from '../core/types.ts';
import { SPLIT_BUCKETS, SPLIT_COOKIE_PREFIX } from '../core/types.ts';
import { trimOws } from './field-syntax.ts';

/** How long a browser keeps its bucket: longer than any canary, short enough to re-draw later. */
export const SPLIT_COOKIE_MAX_AGE_S = 86_400;

/** The request fields a split reads: flat [name, value, ...], and the lower-case names if known. */
export interface SplitFields {
  readonly rawHeaders: readonly string[];
  /** One lower-case name per field (the fast path's head parser has them). */
  readonly names?: readonly string[];
}

export interface SplitChoice {
  /** True: the split color serves this request; false: the live color. */
  readonly toSplit: boolean;
  /** A bucket freshly drawn for a client without a valid one: the router sets it in a cookie. */
  readonly newBucket: number | null;
}

const LIVE: SplitChoice = { toSplit: false, newBucket: null };
const SPLIT: SplitChoice = { toSplit: true, newBucket: null };
const BUCKET_SYNTAX = /^(?:0|[1-9][0-9]{0,3})$/;

/** The sticky cookie's name for an app. */
export function splitCookieName(app: string): string {
  return `${SPLIT_COOKIE_PREFIX}${app}`;
}

/** Buckets under this go to the split color: a percent with two decimals is exact. */
export function splitThreshold(percent: number): number {
  if (!Number.isFinite(percent) || percent <= 0) return 0;
  return Math.min(SPLIT_BUCKETS, Math.round(percent * (SPLIT_BUCKETS / 100)));
}

/** A bucket cookie's value as sent, or null when it is not a plain decimal under SPLIT_BUCKETS. */
export function parseBucket(value: string): number | null {
  if (!BUCKET_SYNTAX.test(value)) return null;
  const bucket = Number(value);
  return bucket < SPLIT_BUCKETS ? bucket : null;
}

function nameAt(fields: SplitFields, index: number): string {
  return fields.names?.[index] ?? (fields.rawHeaders[2 * index] ?? '').toLowerCase();
}

/**
 * The value of the first cookie named `name` in the request's Cookie fields (RFC 6265 §5.4:
 * `name=value` pairs separated by `;`), or undefined. The first pair wins, as the user agent
 * puts the most specific cookie first; a malformed pair is skipped.
 */
export function cookieValue(fields: SplitFields, name: string): string | undefined {
  const count = fields.rawHeaders.length >> 1;
  for (let i = 0; i < count; i++) {
    if (nameAt(fields, i) !== 'cookie') continue;
    for (const pair of (fields.rawHeaders[2 * i + 1] as string).split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      if (trimOws(pair.slice(0, eq)) !== name) continue;
      let value = trimOws(pair.slice(eq + 1));
      // RFC 6265 §4.1.1: a cookie-value may be wrapped in DQUOTEs.
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
      return value;
    }
  }
  return undefined;
}

/** True when a field named `name` (any case) carries exactly `value` (OWS trimmed). */
function hasField(fields: SplitFields, name: string, value: string): boolean {
  const lower = name.toLowerCase();
  const count = fields.rawHeaders.length >> 1;
  for (let i = 0; i < count; i++) {
    if (nameAt(fields, i) === lower && trimOws(fields.rawHeaders[2 * i + 1] as string) === value) {
      return true;
    }
  }
  return false;
}

/** A uniform bucket in 0..SPLIT_BUCKETS-1 (a broken random source gives bucket 0). */
function drawBucket(random: () => number): number {
  const bucket = Math.floor(random() * SPLIT_BUCKETS);
  return bucket >= 0 && bucket < SPLIT_BUCKETS ? bucket : 0;
}

/**
 * Chooses the color of one public request of an app with a split. The allowlist wins at any
 * percent; then the client's bucket (sticky) or a per-request draw (not sticky). `random`
 * returns a uniform number in [0, 1), like Math.random.
 */
export function chooseSplit(
  split: TrafficSplit,
  app: string,
  fields: SplitFields,
  random: () => number,
): SplitChoice {
  const { header, cookie } = split.allow;
  if (header !== null && hasField(fields, header.name, header.value)) return SPLIT;
  if (cookie !== null && cookieValue(fields, cookie.name) === cookie.value) return SPLIT;
  const threshold = splitThreshold(split.percent);
  if (!split.sticky) {
    return drawBucket(random) < threshold ? SPLIT : LIVE;
  }
  const sent = cookieValue(fields, splitCookieName(app));
  const bucket = sent === undefined ? null : parseBucket(sent);
  if (bucket !== null) return bucket < threshold ? SPLIT : LIVE;
  const drawn = drawBucket(random);
  return { toSplit: drawn < threshold, newBucket: drawn };
}

/** The Set-Cookie field value that gives a client its bucket (RFC 6265 §4.1). */
export function bucketCookie(app: string, bucket: number): string {
  return `${splitCookieName(app)}=${bucket}; Path=/; Max-Age=${SPLIT_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax`;
}
