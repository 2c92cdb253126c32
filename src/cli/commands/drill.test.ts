// `cutover drill` in-process against a stand-in admin API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillPhase, DrillReport } from '../../client/api-types.ts';
import { withFakeAdmin } from '../../../test/helpers/fake-admin.ts';
import { runCli } from '../main.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const PHASE: DrillPhase = {
  flip: { app: 'shop', from: 'green', to: 'blue', release: 'v1', generation: 8, durationMs: 1.2 },
  verify: { ok: true, reason: null, probes: 25, durationMs: 5000 },
  recoveryMs: 40,
};

const REPORT: DrillReport = {
  app: 'shop',
  live: 'green',
  standby: 'blue',
  passed: true,
  reason: null,
  rtoMs: 40,
  objectiveMs: 500,
  failedRequests: 0,
  requests: 100,
  back: PHASE,
  forward: { ...PHASE, flip: { ...PHASE.flip, from: 'blue', to: 'green', release: 'v2' } },
  startedAt: '2026-11-26T12:00:00.000Z',
  durationMs: 10_100,
};

void test('drill sends the objective, prints the report, exit 0 when it passed', async () => {
  await withFakeAdmin(
    { 'POST /v1/apps/shop/drill': () => ({ status: 200, body: REPORT }) },
    async (admin) => {
      const run = await cli(['drill', 'shop', '--objective', '500ms', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(admin.bodies, [{ objectiveMs: 500 }]);
      assert.match(run.out, /^shop: drilling: /);
      assert.match(
        run.out,
        /\nshop: drill passed: RTO 40 ms \(objective 500 ms\), 0 failed requests of 100\n/,
      );
    },
  );
});

void test('a drill that did not pass exits 1: CUTOVER_ERR_DRILL_FAILED, or the report with --json', async () => {
  const failed = { ...REPORT, passed: false, reason: 'recovery took 900 ms, above the objective' };
  await withFakeAdmin(
    { 'POST /v1/apps/shop/drill': () => ({ status: 200, body: failed }) },
    async (admin) => {
      const run = await cli(['drill', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 1);
      assert.deepEqual(admin.bodies, [{}]);
      assert.match(run.out, /drill FAILED/);
      assert.equal(
        run.err,
        'cutover: shop: the drill did not pass: recovery took 900 ms, above the objective (CUTOVER_ERR_DRILL_FAILED)\n',
      );
      const json = await cli(['drill', 'shop', '--json', '--data-dir', admin.dataDir]);
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.out), failed);
    },
  );
});
