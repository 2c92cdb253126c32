// A color's effective config as flat keys (`env.PAYMENTS_URL`, `runtime.version`,
// `files.package-lock.json`, `config.health.path`, `release`): the model the drift check diffs.
// Pure: the collector (collect-snapshot.ts) does the I/O and hands the pieces to buildSnapshot.
import type { AppConfig } from '../core/app-config.ts';

/** A literal value (shown), or a secret kept only as a salted hash (never shown). */
export type SnapshotValue =
  | { readonly kind: 'value'; readonly value: string }
  /** `hash`: HMAC-SHA256 with the daemon's salt; null when the secret could not be read. */
  | { readonly kind: 'secret'; readonly hash: string | null };

export interface DriftSnapshot {
  readonly release: string;
  /** ISO-8601. */
  readonly takenAt: string;
  readonly entries: Readonly<Record<string, SnapshotValue>>;
}

/** What the collector found, ready to be laid out as keys. */
export interface SnapshotParts {
  readonly release: string;
  readonly takenAt: string;
  readonly config: AppConfig;
  /** Env vars cutover sets, by name: literal values and hashed secrets. */
  readonly env: Readonly<Record<string, SnapshotValue>>;
  /** The database URL (the app reads it from `database.env`); null without a database. */
  readonly databaseUrl: SnapshotValue | null;
  readonly runtimeVersion: string;
  /** sha256 (hex) of each file, by its path relative to the release dir; null: missing. */
  readonly files: Readonly<Record<string, string | null>>;
  /** The resource limits instances inherit (soft limits), by name. */
  readonly limits: Readonly<Record<string, string>>;
}

/** Shown in place of a value that is not there. */
export const UNKNOWN_VALUE = 'unknown';
export const MISSING_FILE = 'missing';

/**
 * Config keys left out of `config.*`: `env` and the database URL have keys of their own, `app`
 * never differs between two colors of one app, and `drift` describes the check itself.
 */
const SKIPPED_CONFIG_KEYS = new Set(['app', 'env', 'drift', 'database.url']);

function literal(value: string): SnapshotValue {
  return { kind: 'value', value };
}

/** A leaf as text: strings as they are, anything else as JSON. */
function leafText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Flattens the config to dotted keys: mappings are walked, lists and scalars are leaves (a list
 * of smoke checks is one value: its order matters).
 */
export function flattenConfig(config: AppConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (value: unknown, path: string): void => {
    if (SKIPPED_CONFIG_KEYS.has(path)) return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        walk(inner, path === '' ? key : `${path}.${key}`);
      }
      return;
    }
    out[path] = leafText(value);
  };
  walk(config, '');
  return out;
}

/** Lays the collected parts out as snapshot keys. */
export function buildSnapshot(parts: SnapshotParts): DriftSnapshot {
  const entries: Record<string, SnapshotValue> = { release: literal(parts.release) };
  const databaseEnv = parts.config.database?.env ?? null;
  for (const [name, value] of Object.entries(parts.env)) {
    // cutover sets the database var itself (a shadow's URL on the shadow): database.url covers it.
    if (name !== databaseEnv) entries[`env.${name}`] = value;
  }
  if (parts.databaseUrl !== null) entries['database.url'] = parts.databaseUrl;
  entries['runtime.version'] = literal(parts.runtimeVersion);
  for (const [path, hash] of Object.entries(parts.files)) {
    entries[`files.${path}`] = literal(hash === null ? MISSING_FILE : `sha256:${hash}`);
  }
  for (const [key, value] of Object.entries(flattenConfig(parts.config))) {
    entries[`config.${key}`] = literal(value);
  }
  for (const [name, value] of Object.entries(parts.limits)) {
    entries[`config.limits.${name}`] = literal(value);
  }
  return { release: parts.release, takenAt: parts.takenAt, entries: sortKeys(entries) };
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  const sorted: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) sorted[key] = record[key] as T;
  return sorted;
}

/** Checks a stored snapshot's shape (a file edited by hand, or written by another version). */
export function isDriftSnapshot(input: unknown): input is DriftSnapshot {
  if (input === null || typeof input !== 'object') return false;
  const { release, takenAt, entries } = input as Record<string, unknown>;
  if (typeof release !== 'string' || typeof takenAt !== 'string') return false;
  if (entries === null || typeof entries !== 'object') return false;
  return Object.values(entries as Record<string, unknown>).every((entry) => {
    if (entry === null || typeof entry !== 'object') return false;
    const { kind, value, hash } = entry as Record<string, unknown>;
    return (
      (kind === 'value' && typeof value === 'string') ||
      (kind === 'secret' && (hash === null || typeof hash === 'string'))
    );
  });
}
