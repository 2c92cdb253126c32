// Kill -9 the daemon 0..80 ms into the `starting` step of v2 (v1 live), restart, and check the
// end is consistent and no instance of the case runs without a record (the start gate of the
// process runtime: a shell spawned by a dead daemon exits before the app starts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeploymentView } from '../../src/client/api-types.ts';
import {
  assertConsistentEnd,
  deployAndWait,
  getDeployment,
  startDeployment,
  waitEnded,
  withScenario,
} from '../helpers/shop-scenario.ts';

describe('kill -9 in the middle of start-instances', { concurrency: 3 }, () => {
  for (let n = 0; n < 5; n += 1) {
    it(`kill ${n * 20} ms into starting`, async () => {
      await withScenario(async (scenario) => {
        await deployAndWait(scenario.daemon, scenario.releases.v1);
        const reply = await startDeployment(scenario.daemon, scenario.releases.v2);
        const { id } = reply.json<DeploymentView>();
        for (;;) {
          const view = await getDeployment(scenario.daemon, id);
          if (view.step === 'starting') break;
          assert.ok(!view.ended);
          await delay(5);
        }
        await delay(n * 20);
        await scenario.daemon.kill9();
        scenario.daemon = await scenario.daemon.restart();
        const view = await waitEnded(scenario.daemon, id);
        const ok = view.outcome === 'succeeded';
        await assertConsistentEnd(scenario, {
          liveRelease: ok ? 'v2' : 'v1',
          otherRelease: ok ? 'v1' : null,
          newRelease: 'v2',
          deployFlips: ok ? 1 : 0,
          rollbackFlips: 0,
        });
      });
    });
  }
});
