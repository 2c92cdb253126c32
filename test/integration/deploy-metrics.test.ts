// cutover_flips_total counts the flips deployments make (the pipeline's flip, and its flip
// back after a failed switch window), not only the manual ones of the admin routes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPipelineDaemon } from '../helpers/pipeline-fixture.ts';

function counter(metrics: string, kind: string): number {
  const line = metrics
    .split('\n')
    .find((each) => each.startsWith(`cutover_flips_total{app="shop",kind="${kind}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

void test("a deployment's flip and its automatic flip back are counted in /metrics", async (t) => {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
  assert.equal((await fx.deployAndWait(await fx.release('v2'))).outcome, 'succeeded');
  // Fine for smoke and warm-up, 500s after 5 requests per instance: the probes flip it back.
  const bad = await fx.release('v3', {
    env: { SHOP_FAULT: 'fails-under-traffic', SHOP_FAIL_AFTER_REQUESTS: 5 },
    config: { switch: { probeWindow: '3s' } },
  });
  assert.equal((await fx.deployAndWait(bad)).outcome, 'rolled-back');
  const reply = await fx.daemon.admin('GET', '/metrics');
  assert.equal(reply.status, 200);
  assert.equal(counter(reply.body, 'deploy'), 3, reply.body);
  assert.equal(counter(reply.body, 'rollback'), 1, reply.body);
});
