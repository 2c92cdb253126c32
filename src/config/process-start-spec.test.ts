import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAppConfigText } from './load-app-config.ts';
import { toProcessStartSpec } from './process-start-spec.ts';

void test('a process config becomes the runtime start spec of its release', () => {
  const config = parseAppConfigText(
    'app: shop\nstart: node server.js\ninstances: 3\ncwd: web\nstop:\n  signal: SIGINT\n  timeout: 4s\n',
  );
  assert.deepEqual(toProcessStartSpec(config, '/srv/shop/v2', { A: '1' }), {
    dir: '/srv/shop/v2/web',
    command: 'node server.js',
    instances: 3,
    env: { A: '1' },
    stopSignal: 'SIGINT',
    stopTimeoutMs: 4_000,
  });
});

void test('an external app and a cwd outside the release are refused', () => {
  const external = parseAppConfigText('app: shop\nruntime: external\n');
  assert.throws(() => toProcessStartSpec(external, '/srv/shop', {}), /uses the external runtime/);
  const escaping = parseAppConfigText('app: shop\nstart: x\ncwd: ../other\n');
  assert.throws(
    () => toProcessStartSpec(escaping, '/srv/shop/v2', {}),
    /cwd: "\.\.\/other" leaves the release directory \/srv\/shop\/v2/,
  );
});
