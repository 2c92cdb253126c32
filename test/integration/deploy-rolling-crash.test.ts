// QUALITY.md E1 for the rolling strategy (issue 5): kill -9 the daemon at the step boundaries
// around the shift (CUTOVER_FAILPOINT), restart it on the same data dir, and the deployment must
// end consistent: all sampled public traffic on one release, its color whole, the other color
// empty (a rolling deployment keeps no standby; a failed one stopped its instances), one deploy
// flip at most, no process of the case without an instance record, the app lock free.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DeploymentView } from '../../src/client/api-types.ts';
import { shopConfig, type ShopRelease } from '../helpers/shop-release.ts';
import {
  assertConsistentEnd,
  assertLockFree,
  deployAndWait,
  findDeployment,
  startDeployment,
  waitEnded,
  withScenario,
  type Scenario,
} from '../helpers/shop-scenario.ts';

const KILL_WAIT_MS = 30_000;
const CASE_CONCURRENCY = 3;

/** The case's v2 (healthy) or v4 (fails under traffic), deployed with `strategy: rolling`. */
async function rollingRelease(scenario: Scenario, release: 'v2' | 'v4'): Promise<ShopRelease> {
  const dir = join(scenario.root, `rolling-${release}`);
  await mkdir(dir, { recursive: true });
  const base = shopConfig(release, {
    token: scenario.token,
    fault: release === 'v4' ? 'fails-under-traffic' : 'none',
  });
  const config = `${base}strategy: rolling\nrolling:\n  batch: 1\n  pause: 400ms\n`;
  await writeFile(join(dir, 'cutover.yaml'), config);
  return { release, dir, config, request: { release, dir, config } };
}

async function killedAt(scenario: Scenario, failpoint: string, release: ShopRelease) {
  await scenario.daemon.signal('SIGTERM');
  const doomed = await scenario.daemon.restart({ env: { CUTOVER_FAILPOINT: failpoint } });
  scenario.daemon = doomed;
  const reply = await startDeployment(doomed, release);
  assert.equal(reply.status, 202, reply.body);
  const exit = await Promise.race([
    doomed.exited(),
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`no kill at ${failpoint} within ${KILL_WAIT_MS} ms`));
      }, KILL_WAIT_MS).unref(),
    ),
  ]);
  assert.equal(exit.signal, 'SIGKILL', doomed.stderr());
  scenario.daemon = await doomed.restart();
  return reply.json<DeploymentView>().id;
}

const CASES: readonly { release: 'v2' | 'v4'; failpoint: string }[] = [
  { release: 'v2', failpoint: 'persisted:shifting' },
  { release: 'v2', failpoint: 'effect-done:shift' },
  { release: 'v2', failpoint: 'persisted:flipping' },
  { release: 'v2', failpoint: 'effect-done:retire-color' },
  { release: 'v4', failpoint: 'effect-done:shift' },
  { release: 'v4', failpoint: 'persisted:rolling-back' },
  { release: 'v4', failpoint: 'effect-done:clear-split' },
];

describe('kill -9 of the daemon around a rolling shift', { concurrency: CASE_CONCURRENCY }, () => {
  for (const crash of CASES) {
    const outcome = crash.release === 'v2' ? 'succeeded' : 'rolled-back';
    it(`${crash.release} rolling, kill at ${crash.failpoint}: ${outcome}, the other color empty`, async () => {
      await withScenario(async (scenario) => {
        await deployAndWait(scenario.daemon, scenario.releases.v1);
        const release = await rollingRelease(scenario, crash.release);
        const id = await killedAt(scenario, crash.failpoint, release);
        const view = await waitEnded(scenario.daemon, id);
        assert.equal(view.outcome, outcome, view.reason ?? '');
        assert.ok(view.resumes >= 1, `resumes: ${view.resumes}`);
        assert.equal((await findDeployment(scenario.daemon, crash.release)).id, id);
        const succeeded = outcome === 'succeeded';
        await assertConsistentEnd(scenario, {
          liveRelease: succeeded ? crash.release : 'v1',
          otherRelease: null,
          newRelease: crash.release,
          deployFlips: succeeded ? 1 : 0,
          rollbackFlips: 0,
        });
        await assertLockFree(scenario);
      });
    });
  }
});
