// `cutover drift` in-process against a stand-in admin API: the text and JSON reports, exit 0
// without drift, 1 with it, 2 for usage errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DriftComparison, DriftResponse } from '../../client/api-types.ts';
import { withFakeAdmin } from '../../../test/helpers/fake-admin.ts';
import { runCli } from '../main.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const COLORS: DriftComparison = {
  from: { release: 'v1', color: 'blue', takenAt: '2026-11-26T11:00:00.000Z' },
  to: { release: 'v2', color: 'green', takenAt: '2026-11-26T12:00:00.000Z' },
  differences: [
    {
      key: 'env.SHOP_VERSION',
      change: 'changed',
      from: 'v1',
      to: 'v2',
      secret: { from: false, to: false },
      expected: { by: 'drift.expect', pattern: 'env.SHOP_*' },
    },
    {
      key: 'release',
      change: 'changed',
      from: 'v1',
      to: 'v2',
      secret: { from: false, to: false },
      expected: { by: 'release', pattern: 'release' },
    },
  ],
  drift: 0,
};

const CLEAN: DriftResponse = {
  app: 'shop',
  live: { release: 'v2', color: 'green', takenAt: '2026-11-26T12:00:00.000Z' },
  colors: COLORS,
  inPlace: {
    from: { release: 'v2', color: 'green', takenAt: '2026-11-26T11:30:00.000Z' },
    to: { release: 'v2', color: 'green', takenAt: '2026-11-26T12:00:00.000Z' },
    differences: [],
    drift: 0,
  },
  drift: false,
  notes: [],
};

const DRIFTED: DriftResponse = {
  ...CLEAN,
  inPlace: {
    ...(CLEAN.inPlace as DriftComparison),
    differences: [
      {
        key: 'env.PAYMENTS_KEY',
        change: 'changed',
        from: null,
        to: null,
        secret: { from: true, to: true },
        expected: null,
      },
      {
        key: 'files.config/app.json',
        change: 'changed',
        from: 'sha256:aa',
        to: 'sha256:bb',
        secret: { from: false, to: false },
        expected: null,
      },
    ],
    drift: 2,
  },
  drift: true,
};

void test('no drift: the report, expected differences marked, exit 0', async () => {
  await withFakeAdmin(
    { 'GET /v1/apps/shop/drift': () => ({ status: 200, body: CLEAN }) },
    async (admin) => {
      const run = await cli(['drift', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(admin.requests, ['GET /v1/apps/shop/drift']);
      assert.equal(
        run.out,
        [
          'shop: drift report',
          '  live: green v2 (snapshot 2026-11-26T12:00:00.000Z)',
          '  blue v1 -> green v2: 2 differences, 0 drift',
          '    expected env.SHOP_VERSION: "v1" on v1 (blue), "v2" on v2 (green, live) (drift.expect env.SHOP_*)',
          '    expected release: "v1" on v1 (blue), "v2" on v2 (green, live) (the release id always differs)',
          '  green v2 changed in place since it started (2026-11-26T11:30:00.000Z): 0 differences, 0 drift',
          'shop: no drift',
          '',
        ].join('\n'),
      );
    },
  );
});

void test('drift found: each key named, secrets as "secret changed", exit 1 with CUTOVER_ERR_DRIFT_FOUND', async () => {
  await withFakeAdmin(
    { 'GET /v1/apps/shop/drift': () => ({ status: 200, body: DRIFTED }) },
    async (admin) => {
      const run = await cli(['drift', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 1);
      assert.match(run.out, /\n {4}DRIFT {4}env\.PAYMENTS_KEY: secret changed\n/);
      assert.match(
        run.out,
        /\n {4}DRIFT {4}files\.config\/app\.json: "sha256:aa" on v2 \(at start\), "sha256:bb" on v2 \(now, 2026-11-26T12:00:00\.000Z\)\n/,
      );
      assert.match(
        run.out,
        /\nshop: drift in 2 keys: env\.PAYMENTS_KEY, files\.config\/app\.json\n$/,
      );
      assert.equal(
        run.err,
        'cutover: shop: drift found in env.PAYMENTS_KEY, files.config/app.json: fix the environment, or add the keys to drift.expect (docs/drift.md) (CUTOVER_ERR_DRIFT_FOUND)\n',
      );
    },
  );
});

void test('--json prints the API report as it is; exit 1 on drift, 0 without', async () => {
  await withFakeAdmin(
    {
      'GET /v1/apps/shop/drift': () => ({ status: 200, body: DRIFTED }),
      'GET /v1/apps/cart/drift': () => ({ status: 200, body: { ...CLEAN, app: 'cart' } }),
    },
    async (admin) => {
      const drifted = await cli(['drift', 'shop', '--json', '--data-dir', admin.dataDir]);
      assert.equal(drifted.code, 1);
      assert.deepEqual(JSON.parse(drifted.out), DRIFTED);
      const clean = await cli(['drift', 'cart', '--json', '--data-dir', admin.dataDir]);
      assert.equal(clean.code, 0);
      assert.equal((JSON.parse(clean.out) as DriftResponse).drift, false);
    },
  );
});

void test('usage errors exit 2: an extra argument, an unknown app from the daemon is 1', async () => {
  await withFakeAdmin(
    {
      'GET /v1/apps/nope/drift': () => ({
        status: 404,
        body: { error: { code: 'CUTOVER_ERR_APP_NOT_FOUND', message: 'No app named "nope".' } },
      }),
    },
    async (admin) => {
      const extra = await cli(['drift', 'shop', 'more', '--data-dir', admin.dataDir]);
      assert.equal(extra.code, 2);
      const missing = await cli(['drift', 'nope', '--data-dir', admin.dataDir]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /No app named "nope"\. \(CUTOVER_ERR_APP_NOT_FOUND\)/);
    },
  );
});
