// `cutover abort` in-process against a stand-in admin API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFakeAdmin } from '../../../test/helpers/fake-admin.ts';
import { step, view } from '../../../test/helpers/deployment-views.ts';
import { runCli } from '../main.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

void test('abort sends the reason, waits for the deployment to end and prints how it ended', async () => {
  const taken = view({ id: 'd-7', step: 'smoke', steps: [step('smoke', 0, null)] });
  const ended = view({
    id: 'd-7',
    step: 'aborted',
    ended: true,
    outcome: 'aborted',
    reason: 'aborted by unix:me (bad build) at step "smoke"',
    steps: [step('smoke', 0, 100), step('cleaning-up', 100, 150)],
  });
  await withFakeAdmin(
    {
      'POST /v1/apps/shop/abort': () => ({ status: 200, body: taken }),
      'GET /v1/deployments/d-7': () => ({ status: 200, body: ended }),
    },
    async (admin) => {
      const run = await cli([
        'abort',
        'shop',
        '--reason',
        'bad build',
        '--data-dir',
        admin.dataDir,
      ]);
      assert.equal(run.code, 0, run.err);
      assert.deepEqual(admin.bodies, [{ reason: 'bad build' }]);
      assert.match(
        run.out,
        /^shop v2: deployment d-7: abort taken at step smoke; traffic stays on blue\n/,
      );
      assert.match(run.out, /\nshop v2: aborted in .*\n {2}traffic stays on blue\n/);
      assert.match(run.out, /reason: aborted by unix:me \(bad build\) at step "smoke"\n$/);
      const noWait = await cli([
        'abort',
        'shop',
        '--no-wait',
        '--json',
        '--data-dir',
        admin.dataDir,
      ]);
      assert.deepEqual(JSON.parse(noWait.out), taken);
    },
  );
});

void test('abort with nothing running exits 1 with the daemon refusal', async () => {
  await withFakeAdmin(
    {
      'POST /v1/apps/shop/abort': () => ({
        status: 404,
        body: {
          error: {
            code: 'CUTOVER_ERR_DEPLOY_NOT_FOUND',
            message: 'shop has no deployment running',
          },
        },
      }),
    },
    async (admin) => {
      const run = await cli(['abort', 'shop', '--data-dir', admin.dataDir]);
      assert.equal(run.code, 1);
      assert.equal(
        run.err,
        'cutover: shop has no deployment running (CUTOVER_ERR_DEPLOY_NOT_FOUND)\n',
      );
    },
  );
});
