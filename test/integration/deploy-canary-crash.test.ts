// QUALITY.md E1 for the canary's steps: kill -9 the daemon (CUTOVER_FAILPOINT) as the shifting
// step is stored, after a shift effect, as a failed canary starts rolling back and after its
// share is cleared, then restart it on the same data dir under a steady load. Each deployment
// must end consistent: a healthy canary live with the old color as standby, a failing one rolled
// back with all traffic on the old color, no share of traffic left, no instance left over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeploymentView } from '../../src/client/api-types.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { startLoad } from '../helpers/pipeline-fixture.ts';
import type { ShopRelease } from '../helpers/shop-release.ts';
import {
  appStatus,
  assertConsistentEnd,
  assertLockFree,
  deployAndWait,
  findDeployment,
  startDeployment,
  waitEnded,
  withScenario,
  type Scenario,
} from '../helpers/shop-scenario.ts';

/** The load runs until stopped, bounded in time and count; a step judged late still has traffic. */
const LOAD_MAX_REQUESTS = 200_000;

const KILL_WAIT_MS = 30_000;

/** Two short steps judged on a handful of requests: the load reaches them quickly. */
const CANARY_YAML = [
  'strategy: canary',
  'canary:',
  '  steps:',
  '    - { weight: 50%, pause: 300ms }',
  '    - { weight: 50%, pause: 300ms }',
  '  analysis: { minRequests: 5, maxWait: 30s }',
  '',
].join('\n');

function asCanary(release: ShopRelease): ShopRelease {
  const config = `${release.config}${CANARY_YAML}`;
  return { ...release, config, request: { ...release.request, config } };
}

interface CanaryCrash {
  readonly release: 'v2' | 'v4';
  readonly failpoints: readonly string[];
}

const CASES: readonly CanaryCrash[] = [
  { release: 'v2', failpoints: ['persisted:shifting'] },
  { release: 'v2', failpoints: ['effect-done:shift'] },
  { release: 'v2', failpoints: ['persisted:shifting', 'effect-done:shift'] },
  { release: 'v4', failpoints: ['effect-done:shift'] },
  { release: 'v4', failpoints: ['persisted:rolling-back'] },
  { release: 'v4', failpoints: ['effect-done:clear-split'] },
  { release: 'v4', failpoints: ['effect-done:clear-split', 'effect-done:drain'] },
];

async function waitKilled(daemon: TestDaemon, failpoint: string): Promise<void> {
  const timer = new AbortController();
  try {
    const exit = await Promise.race([
      daemon.exited(),
      delay(KILL_WAIT_MS, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`the kill at ${failpoint} did not happen within ${KILL_WAIT_MS} ms`);
      }),
    ]);
    assert.equal(exit.signal, 'SIGKILL', daemon.stderr());
  } finally {
    timer.abort();
  }
}

/** Restarts on the same data dir with `failpoint`: it resumes and dies there (maybe before ready). */
async function resumeAndDieAt(dead: TestDaemon, failpoint: string): Promise<TestDaemon | null> {
  const daemon = await dead
    .restart({ env: { CUTOVER_FAILPOINT: failpoint } })
    .catch((error: unknown) => {
      if (/exited before it was ready \(code null, signal SIGKILL\)/.test(String(error))) {
        return null;
      }
      throw error;
    });
  if (daemon !== null) await waitKilled(daemon, failpoint);
  return daemon;
}

async function crashAndResume(scenario: Scenario, crash: CanaryCrash): Promise<DeploymentView> {
  await deployAndWait(scenario.daemon, scenario.releases.v1);
  const [first, ...rest] = crash.failpoints;
  assert.ok(first !== undefined);
  await scenario.daemon.signal('SIGTERM');
  const doomed = await scenario.daemon.restart({ env: { CUTOVER_FAILPOINT: first } });
  scenario.daemon = doomed;
  const reply = await startDeployment(doomed, asCanary(scenario.releases[crash.release]));
  assert.equal(reply.status, 202, reply.body);
  await waitKilled(doomed, first);
  for (const failpoint of rest) await resumeAndDieAt(doomed, failpoint);
  scenario.daemon = await doomed.restart();
  const id = reply.json<DeploymentView>().id;
  assert.equal((await findDeployment(scenario.daemon, crash.release)).id, id);
  return waitEnded(scenario.daemon, id);
}

describe('kill -9 of the daemon during a canary', { concurrency: 3 }, () => {
  for (const crash of CASES) {
    const ending = crash.release === 'v2' ? 'live, v1 standby' : 'rolled back, all traffic on v1';
    it(`${crash.release} canary, kill at ${crash.failpoints.join(', then at ')}: ${ending}`, async () => {
      await withScenario(async (scenario) => {
        // The steps are judged on real traffic: a steady load through the public listener
        // (the daemon keeps its ports across restarts; requests fail while it is down).
        const load = startLoad(scenario.daemon.info.public, {
          clients: 2,
          maxMs: 90_000,
          maxRequests: LOAD_MAX_REQUESTS,
        });
        let view: DeploymentView;
        try {
          view = await crashAndResume(scenario, crash);
        } finally {
          await load.stop();
        }
        assert.ok(view.resumes >= crash.failpoints.length, `resumes: ${view.resumes}`);
        assert.ok(view.steps.some((step) => step.step === 'shifting'));
        const succeeded = crash.release === 'v2';
        assert.equal(view.outcome, succeeded ? 'succeeded' : 'rolled-back', view.reason ?? '');
        if (!succeeded) assert.match(view.reason ?? '', /canary shift failed: step 1 \(50%\)/);
        const status = await appStatus(scenario.daemon);
        assert.equal(status.split, undefined, 'a share of traffic survived the deployment');
        await assertConsistentEnd(scenario, {
          liveRelease: succeeded ? 'v2' : 'v1',
          otherRelease: succeeded ? 'v1' : null,
          newRelease: crash.release,
          deployFlips: succeeded ? 1 : 0,
          rollbackFlips: 0,
        });
        await assertLockFree(scenario);
      });
    });
  }
});
