// The diff of two snapshots, key by key (pure): added, removed, changed, each marked expected
// (the release id, a deployment setting, a `drift.expect` glob of the newer release, an
// `--accept-drift` glob) or drift.
// Secret values never leave this module as anything but "secret".
import type { DriftComparison, DriftDifference, DriftSide } from '../client/api-types.ts';
import { matchingGlob } from './drift-glob.ts';
import type { DriftSnapshot, SnapshotValue } from './drift-snapshot.ts';

export interface DriftRules {
  /** Globs of the newer release's `drift.expect`. */
  readonly expect: readonly string[];
  /** Globs the deployer accepted this once (`--accept-drift`). */
  readonly accept: readonly string[];
}

export const NO_RULES: DriftRules = { expect: [], accept: [] };

function sameValue(a: SnapshotValue, b: SnapshotValue): boolean {
  if (a.kind === 'value' && b.kind === 'value') return a.value === b.value;
  // An unreadable secret is never equal to anything: it is reported, not assumed unchanged.
  if (a.kind === 'secret' && b.kind === 'secret') return a.hash !== null && a.hash === b.hash;
  return false;
}

function shown(value: SnapshotValue | undefined): string | null {
  return value?.kind === 'value' ? value.value : null;
}

/**
 * The cutover.yaml sections that say how cutover deploys a release (its checks, its switch, its
 * strategy), not the environment the app runs in: a release may change them without drifting.
 * `start`, `cwd`, `instances`, `runtime`, `hosts`, `env`, the database and the limits are the
 * environment: those differ only when expected.
 */
export const DEPLOYMENT_SETTINGS: readonly string[] = [
  'stop',
  'health',
  'smoke',
  'warmup',
  'switch',
  'standby',
  'rto',
  'migrations',
  'strategy',
  'canary',
  'rolling',
  'mirror',
];

/** The deployment-setting section a `config.*` key belongs to, or null. */
function settingOf(key: string): string | null {
  if (!key.startsWith('config.')) return null;
  const section = key.slice('config.'.length).split('.')[0] ?? '';
  return DEPLOYMENT_SETTINGS.includes(section) ? `config.${section}` : null;
}

function expectedBy(key: string, rules: DriftRules): DriftDifference['expected'] {
  if (key === 'release') return { by: 'release', pattern: key };
  const setting = settingOf(key);
  if (setting !== null) return { by: 'deployment-setting', pattern: setting };
  const expected = matchingGlob(key, rules.expect);
  if (expected !== null) return { by: 'drift.expect', pattern: expected };
  const accepted = matchingGlob(key, rules.accept);
  if (accepted !== null) return { by: 'accept-drift', pattern: accepted };
  return null;
}

/** Every key that differs between `from` (the older or live side) and `to`. */
export function diffSnapshots(
  from: { readonly side: DriftSide; readonly snapshot: DriftSnapshot },
  to: { readonly side: DriftSide; readonly snapshot: DriftSnapshot },
  rules: DriftRules,
): DriftComparison {
  const keys = new Set([
    ...Object.keys(from.snapshot.entries),
    ...Object.keys(to.snapshot.entries),
  ]);
  const differences: DriftDifference[] = [];
  for (const key of [...keys].sort()) {
    const before = Object.hasOwn(from.snapshot.entries, key)
      ? from.snapshot.entries[key]
      : undefined;
    const after = Object.hasOwn(to.snapshot.entries, key) ? to.snapshot.entries[key] : undefined;
    if (before !== undefined && after !== undefined && sameValue(before, after)) continue;
    differences.push({
      key,
      change: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed',
      from: shown(before),
      to: shown(after),
      secret: { from: before?.kind === 'secret', to: after?.kind === 'secret' },
      expected: expectedBy(key, rules),
    });
  }
  return {
    from: from.side,
    to: to.side,
    differences,
    drift: differences.filter((each) => each.expected === null).length,
  };
}

/** Values longer than this are cut in sentences (the JSON report keeps them whole). */
const MAX_SHOWN_CHARS = 120;

function quote(value: string): string {
  const cut = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}...` : value;
  return JSON.stringify(cut);
}

function sideValue(difference: DriftDifference, side: 'from' | 'to'): string {
  if (difference.secret[side]) return 'a secret';
  const value = difference[side];
  return value === null ? 'not set' : quote(value);
}

function sideName(side: DriftSide, role: string): string {
  return `${side.release} (${role})`;
}

/**
 * One difference in words: `env.PAYMENTS_URL: "https://pay.example.com" on v2 (live), "https://
 * pay.staging.example.com" on v7 (new)`, or `env.PAYMENTS_KEY: secret changed`.
 */
export function describeDifference(
  difference: DriftDifference,
  comparison: Pick<DriftComparison, 'from' | 'to'>,
  roles: { readonly from: string; readonly to: string },
): string {
  const { key, secret, change } = difference;
  if (secret.from && secret.to)
    return `${key}: secret ${change === 'changed' ? 'changed' : change}`;
  return (
    `${key}: ${sideValue(difference, 'from')} on ${sideName(comparison.from, roles.from)}, ` +
    `${sideValue(difference, 'to')} on ${sideName(comparison.to, roles.to)}`
  );
}

/** The drift-check refusal: each key with both values, and how to accept it. */
export function driftRefusalReason(comparison: DriftComparison): string {
  const drift = comparison.differences.filter((each) => each.expected === null);
  const keys = drift.map((each) => each.key);
  const lines = drift.map((each) =>
    describeDifference(each, comparison, { from: 'live', to: 'new' }),
  );
  const accept = keys.map((key) => `--accept-drift ${key}`).join(' ');
  return (
    `drift from the live release ${comparison.from.release}: ${drift.length} unexpected ` +
    `difference${drift.length === 1 ? '' : 's'}: ${lines.join('; ')}. If intended, accept it with ` +
    `\`cutover deploy ${comparison.to.release} ${accept}\`, or add ` +
    `${keys.length === 1 ? 'it' : 'them'} to drift.expect in cutover.yaml`
  );
}
