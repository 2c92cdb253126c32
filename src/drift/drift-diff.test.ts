import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriftSide } from '../client/api-types.ts';
import { describeDifference, diffSnapshots, driftRefusalReason, NO_RULES } from './drift-diff.ts';
import type { DriftSnapshot, SnapshotValue } from './drift-snapshot.ts';

const SECRET_VALUE = 'sk_live_do_not_show_me';

function snapshot(release: string, entries: Record<string, SnapshotValue>): DriftSnapshot {
  return {
    release,
    takenAt: '2026-11-26T12:00:00.000Z',
    entries: { release: { kind: 'value', value: release }, ...entries },
  };
}

const value = (text: string): SnapshotValue => ({ kind: 'value', value: text });
const secret = (hash: string | null): SnapshotValue => ({ kind: 'secret', hash });
const LIVE: DriftSide = { release: 'v2', color: 'blue', takenAt: 't1' };
const NEW: DriftSide = { release: 'v7', color: null, takenAt: 't2' };

function diff(
  from: Record<string, SnapshotValue>,
  to: Record<string, SnapshotValue>,
  rules = NO_RULES,
) {
  return diffSnapshots(
    { side: LIVE, snapshot: snapshot('v2', from) },
    { side: NEW, snapshot: snapshot('v7', to) },
    rules,
  );
}

void test('equal snapshots differ only in the release id, which always passes', () => {
  const result = diff({ 'env.A': value('1') }, { 'env.A': value('1') });
  assert.equal(result.drift, 0);
  assert.deepEqual(
    result.differences.map((each) => [each.key, each.change, each.expected?.by]),
    [['release', 'changed', 'release']],
  );
});

void test('added, removed and changed keys are drift, with both values', () => {
  const result = diff(
    { 'env.GONE': value('x'), 'env.URL': value('https://pay.example.com') },
    { 'env.NEW': value('y'), 'env.URL': value('https://pay.staging.example.com') },
  );
  assert.equal(result.drift, 3);
  const byKey = Object.fromEntries(result.differences.map((each) => [each.key, each]));
  assert.equal(byKey['env.GONE']?.change, 'removed');
  assert.equal(byKey['env.GONE']?.to, null);
  assert.equal(byKey['env.NEW']?.change, 'added');
  assert.equal(byKey['env.NEW']?.from, null);
  assert.equal(byKey['env.URL']?.change, 'changed');
  assert.equal(byKey['env.URL']?.from, 'https://pay.example.com');
  assert.equal(byKey['env.URL']?.to, 'https://pay.staging.example.com');
});

void test('deployment settings may differ; the environment the app runs in may not', () => {
  const result = diff(
    {
      'config.health.path': value('/healthz'),
      'config.smoke': value('[]'),
      'config.canary.steps': value('[]'),
      'config.strategy': value('bluegreen'),
      'config.rto': value('1000'),
      'config.instances': value('2'),
      'config.start': value('node server.js'),
      'config.limits.nofile': value('1024'),
      'config.healthcheck': value('x'),
    },
    {
      'config.health.path': value('/ready'),
      'config.smoke': value('[{"path":"/"}]'),
      'config.canary.steps': value('[{"percent":5}]'),
      'config.strategy': value('canary'),
      'config.rto': value('500'),
      'config.instances': value('3'),
      'config.start': value('node other.js'),
      'config.limits.nofile': value('4096'),
      'config.healthcheck': value('y'),
    },
  );
  const byKey = Object.fromEntries(
    result.differences.map((each) => [each.key, each.expected?.pattern ?? null]),
  );
  assert.deepEqual(byKey, {
    'config.canary.steps': 'config.canary',
    'config.health.path': 'config.health',
    // A prefix of a setting's name is not that setting.
    'config.healthcheck': null,
    'config.instances': null,
    'config.limits.nofile': null,
    'config.rto': 'config.rto',
    'config.smoke': 'config.smoke',
    'config.start': null,
    'config.strategy': 'config.strategy',
    release: 'release',
  });
  assert.equal(result.drift, 4);
  assert.ok(
    result.differences
      .filter((each) => each.expected?.pattern.startsWith('config.') === true)
      .every((each) => each.expected?.by === 'deployment-setting'),
  );
});

void test('drift.expect globs of the new release, then --accept-drift globs, make a difference expected', () => {
  const result = diff(
    { 'env.SHOP_VERSION': value('v2'), 'env.URL': value('a'), 'files.x': value('sha256:1') },
    { 'env.SHOP_VERSION': value('v7'), 'env.URL': value('b'), 'files.x': value('sha256:2') },
    { expect: ['env.SHOP_*'], accept: ['files.*'] },
  );
  const byKey = Object.fromEntries(result.differences.map((each) => [each.key, each.expected]));
  assert.deepEqual(byKey['env.SHOP_VERSION'], { by: 'drift.expect', pattern: 'env.SHOP_*' });
  assert.deepEqual(byKey['files.x'], { by: 'accept-drift', pattern: 'files.*' });
  assert.equal(byKey['env.URL'], null);
  assert.equal(result.drift, 1);
});

void test('secrets: equal hashes pass, different hashes are "secret changed", values never shown', () => {
  assert.equal(diff({ 'env.KEY': secret('h1') }, { 'env.KEY': secret('h1') }).drift, 0);
  const changed = diff({ 'env.KEY': secret('h1') }, { 'env.KEY': secret('h2') });
  const difference = changed.differences.find((each) => each.key === 'env.KEY');
  assert.ok(difference !== undefined);
  assert.deepEqual(difference.secret, { from: true, to: true });
  assert.equal(difference.from, null);
  assert.equal(difference.to, null);
  assert.equal(
    describeDifference(difference, changed, { from: 'live', to: 'new' }),
    'env.KEY: secret changed',
  );
  // An unreadable secret is never taken as unchanged.
  assert.equal(diff({ 'env.KEY': secret(null) }, { 'env.KEY': secret(null) }).drift, 1);
  // A secret that became a literal shows the literal side only.
  const literal = diff({ 'env.KEY': secret('h1') }, { 'env.KEY': value('plain') });
  const mixed = literal.differences.find((each) => each.key === 'env.KEY');
  assert.ok(mixed !== undefined);
  assert.equal(
    describeDifference(mixed, literal, { from: 'live', to: 'new' }),
    'env.KEY: a secret on v2 (live), "plain" on v7 (new)',
  );
  assert.doesNotMatch(JSON.stringify([changed, literal]), /h1|h2/);
});

void test('the refusal names each key, both values, and how to accept it', () => {
  const result = diff(
    { 'env.PAYMENTS_URL': value('https://pay.example.com'), 'env.KEY': secret('h1') },
    { 'env.PAYMENTS_URL': value('https://pay.staging.example.com'), 'env.KEY': secret('h2') },
  );
  assert.equal(
    driftRefusalReason(result),
    'drift from the live release v2: 2 unexpected differences: env.KEY: secret changed; ' +
      'env.PAYMENTS_URL: "https://pay.example.com" on v2 (live), "https://pay.staging.example.com" on v7 (new). ' +
      'If intended, accept it with `cutover deploy v7 --accept-drift env.KEY --accept-drift env.PAYMENTS_URL`, ' +
      'or add them to drift.expect in cutover.yaml',
  );
  assert.doesNotMatch(driftRefusalReason(result), new RegExp(SECRET_VALUE));
});

void test('an added key reads "not set" on the side without it; long values are cut', () => {
  const long = 'x'.repeat(500);
  const result = diff({}, { 'env.PAYMENTS_URL': value(long) });
  const added = result.differences.find((each) => each.key === 'env.PAYMENTS_URL');
  assert.ok(added !== undefined);
  const text = describeDifference(added, result, { from: 'live', to: 'new' });
  assert.match(text, /^env\.PAYMENTS_URL: not set on v2 \(live\), "x{120}\.\.\." on v7 \(new\)$/);
  assert.equal(added.to, long);
});
