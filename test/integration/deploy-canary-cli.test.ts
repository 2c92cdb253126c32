// `cutover promote` and `cutover history --deployments` as a user runs them (the real CLI
// process against a real daemon): promote is refused with its code when no canary runs, ends a
// running canary's steps and prints how the deployment ended; the history shows the steps.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { DeploymentView } from '../../src/client/api-types.ts';
import { startLoad, startPipelineDaemon, waitFor } from '../helpers/pipeline-fixture.ts';

/** The load runs until stopped, bounded in time and count; a step judged late still has traffic. */
const LOAD_MAX_REQUESTS = 200_000;

const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cutover(args: readonly string[]): Promise<CliRun> {
  const env = { ...process.env };
  delete env.CUTOVER_DATA_DIR;
  delete env.CUTOVER_ADMIN_URL;
  delete env.CUTOVER_ADMIN_TOKEN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('cutover promote and the canary history (real CLI, real daemon)', () => {
  it('refuses without a canary, promotes a running one, and lists its steps', async (t) => {
    const fx = await startPipelineDaemon();
    t.after(() => fx.close());
    const dataDir = ['--data-dir', fx.dataDir];

    const refused = await cutover(['promote', 'shop', ...dataDir]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /nothing to promote.*\(CUTOVER_ERR_DEPLOY_NOT_SHIFTING\)/);

    const v1 = await fx.deployAndWait(await fx.release('v1'));
    assert.equal(v1.outcome, 'succeeded', v1.reason ?? '');
    const v2 = await fx.release('v2', {
      config: {
        strategy: 'canary',
        canary: {
          steps: [
            { weight: '25%', pause: '500ms' },
            { weight: '50%', pause: '2m' },
          ],
          analysis: { minRequests: 20 },
        },
      },
    });
    const load = startLoad(fx.daemon.info.public, {
      clients: 2,
      maxMs: 120_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    try {
      const started = await fx.start(v2);
      // The first step passed; the second one runs for two minutes unless promoted.
      await waitFor('the first canary step passed', async () => {
        const view = await fx.view(started.id);
        if (view.ended) throw new Error(`ended early: ${view.reason}`);
        return (view.report.canary?.steps.length ?? 0) >= 1 ? true : undefined;
      });

      const promoted = await cutover(['promote', ...dataDir, '--json']);
      assert.equal(promoted.code, 0, promoted.stderr);
      const ended = JSON.parse(promoted.stdout) as DeploymentView;
      assert.equal(ended.outcome, 'succeeded', ended.reason ?? '');
      assert.equal(ended.strategy, 'canary');
      assert.equal(ended.report.promoted?.shiftIndex, 1);

      const history = await cutover(['history', 'shop', '--deployments', ...dataDir]);
      assert.equal(history.code, 0, history.stderr);
      assert.match(history.stdout, /canary: 2 steps judged/);
      assert.match(history.stdout, /step 1 \(25%\): passed; canary 0\.0% errors \(0\/\d+\)/);
      assert.match(history.stdout, /step 2 \(50%\): promoted/);
      assert.match(history.stdout, /promoted by unix:.* \(after 1 step\)/);
      assert.match(history.stdout, /steps: .*shifting/);

      // --strategy canary on a release whose cutover.yaml says nothing of it; abort mid-step.
      const v3 = await fx.release('v3', {
        config: { canary: { steps: [{ weight: '40%', pause: '2m' }] } },
      });
      const deployed = await cutover([
        'deploy',
        'v3',
        '--dir',
        v3.dir,
        '--strategy',
        'canary',
        '--no-wait',
        '--json',
        ...dataDir,
      ]);
      assert.equal(deployed.code, 0, deployed.stderr);
      const id = (JSON.parse(deployed.stdout) as DeploymentView).id;
      const shifting = await fx.waitStep(id, 'shifting');
      assert.equal(shifting.strategy, 'canary');
      const aborted = await cutover(['abort', '--reason', 'not today', ...dataDir]);
      assert.equal(aborted.code, 0, aborted.stderr);
      assert.match(aborted.stdout, /abort taken at step shifting; traffic stays on (blue|green)/);
      assert.match(aborted.stdout, /v3: aborted/);
      const app = await fx.app();
      assert.ok(app.live !== null);
      assert.equal(app.colors[app.live].release, 'v2');
      assert.equal(app.split, undefined);
    } finally {
      const samples = await load.stop();
      assert.ok(
        samples.every((sample) => sample.status === 200),
        'a request of the load failed',
      );
    }
  });
});
