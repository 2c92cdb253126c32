import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAppConfigText } from '../config/load-app-config.ts';
import { buildSnapshot, flattenConfig, isDriftSnapshot } from './drift-snapshot.ts';

const CONFIG = parseAppConfigText(
  [
    'app: shop',
    'start: node server.js',
    'instances: 3',
    'env:',
    '  SHOP_VERSION: v2',
    '  PAYMENTS_KEY: { fromEnv: SHOP_PAYMENTS_KEY }',
    'database:',
    '  url: { fromEnv: SHOP_DATABASE_URL }',
    '  env: DATABASE_URL',
    'health:',
    '  path: /healthz',
    'switch:',
    '  probeWindow: 5s',
    'drift:',
    '  expect: [env.SHOP_VERSION]',
  ].join('\n'),
);

void test('the config flattens to dotted keys; env, app, drift and the database URL stay out', () => {
  const flat = flattenConfig(CONFIG);
  assert.equal(flat['instances'], '3');
  assert.equal(flat['start'], 'node server.js');
  assert.equal(flat['health.path'], '/healthz');
  assert.equal(flat['switch.probeWindowMs'], '5000');
  assert.equal(flat['database.env'], 'DATABASE_URL');
  assert.equal(flat['smoke'], '[]');
  for (const key of Object.keys(flat)) {
    assert.doesNotMatch(key, /^(env|app|drift)(\.|$)|^database\.url/, key);
  }
});

void test('a snapshot lays out release, env, database, runtime, files, config and limits keys', () => {
  const snapshot = buildSnapshot({
    release: 'v2',
    takenAt: '2026-11-26T12:00:00.000Z',
    config: CONFIG,
    env: {
      SHOP_VERSION: { kind: 'value', value: 'v2' },
      PAYMENTS_KEY: { kind: 'secret', hash: 'aa' },
      // The database var is cutover's to set: database.url covers it.
      DATABASE_URL: { kind: 'value', value: 'sqlite:x.db' },
    },
    databaseUrl: { kind: 'secret', hash: 'bb' },
    runtimeVersion: 'node v24.0.0',
    files: { 'package-lock.json': 'abc', 'config/app.json': null },
    limits: { nofile: '1024' },
  });
  assert.deepEqual(snapshot.entries['release'], { kind: 'value', value: 'v2' });
  assert.deepEqual(snapshot.entries['env.SHOP_VERSION'], { kind: 'value', value: 'v2' });
  assert.deepEqual(snapshot.entries['env.PAYMENTS_KEY'], { kind: 'secret', hash: 'aa' });
  assert.equal(snapshot.entries['env.DATABASE_URL'], undefined);
  assert.deepEqual(snapshot.entries['database.url'], { kind: 'secret', hash: 'bb' });
  assert.deepEqual(snapshot.entries['runtime.version'], { kind: 'value', value: 'node v24.0.0' });
  assert.deepEqual(snapshot.entries['files.package-lock.json'], {
    kind: 'value',
    value: 'sha256:abc',
  });
  assert.deepEqual(snapshot.entries['files.config/app.json'], { kind: 'value', value: 'missing' });
  assert.deepEqual(snapshot.entries['config.instances'], { kind: 'value', value: '3' });
  assert.deepEqual(snapshot.entries['config.limits.nofile'], { kind: 'value', value: '1024' });
  assert.deepEqual(Object.keys(snapshot.entries), Object.keys(snapshot.entries).sort());
  assert.equal(isDriftSnapshot(JSON.parse(JSON.stringify(snapshot))), true);
});

void test('isDriftSnapshot refuses damaged records', () => {
  const base = { release: 'v1', takenAt: 't', entries: {} };
  assert.equal(isDriftSnapshot(base), true);
  assert.equal(isDriftSnapshot(null), false);
  assert.equal(isDriftSnapshot({ ...base, release: 1 }), false);
  assert.equal(isDriftSnapshot({ ...base, entries: { a: { kind: 'value' } } }), false);
  assert.equal(isDriftSnapshot({ ...base, entries: { a: { kind: 'secret', hash: 3 } } }), false);
  assert.equal(isDriftSnapshot({ ...base, entries: { a: { kind: 'secret', hash: null } } }), true);
});
