// The shop's canary releases as shipped (examples/shop/v10-canary-good, v11-canary-bad), deployed
// by a real daemon under a bounded steady load: v11 (5 % errors) is rolled back at its first
// step with the live color untouched, v10 goes through its steps to live.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startLoad, startPipelineDaemon, type ShopRelease } from '../helpers/pipeline-fixture.ts';

/** The load runs until stopped, bounded in time and count; a step judged late still has traffic. */
const LOAD_MAX_REQUESTS = 200_000;

async function example(dirName: string, release: string): Promise<ShopRelease> {
  const dir = fileURLToPath(new URL(`../../examples/shop/${dirName}`, import.meta.url));
  const config = await readFile(`${dir}/cutover.yaml`, 'utf8');
  return { app: 'shop', release, dir, config };
}

describe('the shop canary examples (real daemon, real shop instances)', () => {
  it('rolls back v11-canary-bad at 10 % and promotes v10-canary-good through its steps', async (t) => {
    // The releases keep their orders in the daemon's SHOP_DATABASE_URL, a SQLite file.
    const databaseDir = await mkdtemp(join(tmpdir(), 'cutover-canary-db-'));
    const fx = await startPipelineDaemon({
      env: { SHOP_DATABASE_URL: `sqlite:${join(databaseDir, 'shop.db')}` },
    });
    t.after(async () => {
      await fx.close();
      await rm(databaseDir, { recursive: true, force: true });
    });
    // The first deployment has no live color to share with: it flips as blue-green does.
    const first = await fx.deployAndWait(await example('v10-canary-good', 'v10'));
    assert.equal(first.outcome, 'succeeded', first.reason ?? '');
    assert.ok(!first.steps.some((step) => step.step === 'shifting'));

    const load = startLoad(fx.daemon.info.public, {
      clients: 4,
      maxMs: 120_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    try {
      const badStart = await fx.start(await example('v11-canary-bad', 'v11'));
      const bad = await fx.waitEnded(badStart.id, 60_000).catch(async (error: unknown) => {
        const now = await fx.view(badStart.id);
        throw new Error(
          `${String(error)}: at ${now.step} (${now.waitingFor ?? ''}) ${now.reason ?? ''}`,
        );
      });
      assert.equal(bad.outcome, 'rolled-back', bad.reason ?? '');
      assert.match(
        bad.reason ?? '',
        /step 1 \(10%\): canary error rate [3-9]\.\d% .*\(live 0\.0%\)/,
      );
      for (let i = 0; i < 20; i += 1) assert.equal(await fx.publicVersion(), 'v10');

      const good = await fx.deployAndWait(
        await example('v10-canary-good', 'v10-again'),
        undefined,
        60_000,
      );
      assert.equal(good.outcome, 'succeeded', good.reason ?? '');
      assert.deepEqual(
        (good.report.canary?.steps ?? []).map((step) => [step.percent, step.verdict]),
        [
          [10, 'passed'],
          [50, 'passed'],
        ],
      );
      const app = await fx.app();
      assert.ok(app.live !== null);
      assert.equal(app.colors[app.live].release, 'v10-again');
    } finally {
      const samples = await load.stop();
      // Only the bad canary's share ever failed.
      const failed = samples.filter((s) => s.status !== 200 || s.error !== null);
      assert.ok(
        failed.every((sample) => sample.version === 'v11'),
        JSON.stringify(failed[0]),
      );
    }
  });
});
