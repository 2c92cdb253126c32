// The canary strategy (issue 5) against a real daemon and real shop instances, under a bounded
// steady load through the public listener: a release whose error rate is 5 % while the live one
// is at 0 % is rolled back at its first step (all traffic back on the live color, the canary
// stopped); a healthy one goes through its steps to live, with the standby kept for an instant
// rollback; promote skips the remaining steps; abort mid-step puts all traffic back at once;
// a kill -9 of the daemon mid-shift resumes to a consistent end.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CanaryStepReport, DeploymentView } from '../../src/client/api-types.ts';
import {
  errorCode,
  startLoad,
  startPipelineDaemon,
  waitFor,
  type LoadSample,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';

/** The load runs until stopped, bounded in time and count; a step judged late still has traffic. */
const LOAD_MAX_REQUESTS = 200_000;

/** Two short steps, judged on at least 100 canary requests each. */
const CANARY = {
  strategy: 'canary',
  canary: {
    steps: [
      { weight: '20%', pause: '1s' },
      { weight: '50%', pause: '1s' },
    ],
    analysis: {
      minRequests: 100,
      maxErrorRate: '1%',
      maxErrorRateIncrease: '0.5%',
      maxWait: '30s',
    },
  },
};

/** Steps too long to finish within a test: only a promote, an abort or a failure ends them. */
const SLOW_CANARY = {
  strategy: 'canary',
  canary: {
    steps: [
      { weight: '30%', pause: '2m' },
      { weight: '60%', pause: '2m' },
    ],
    analysis: { minRequests: 10 },
  },
};

async function pipeline(t: TestContext): Promise<PipelineDaemon> {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  return fx;
}

async function deployLive(fx: PipelineDaemon): Promise<ShopRelease> {
  const v1 = await fx.release('v1');
  const first = await fx.deployAndWait(v1);
  assert.equal(first.outcome, 'succeeded', first.reason ?? '');
  return v1;
}

function failures(samples: readonly LoadSample[]): readonly LoadSample[] {
  return samples.filter((sample) => sample.status !== 200 || sample.error !== null);
}

function stepsOf(view: DeploymentView): readonly CanaryStepReport[] {
  return view.report.canary?.steps ?? [];
}

/** All traffic on `release`, in the live color; `idle` holds `idleRelease` (or nothing). */
async function assertServing(
  fx: PipelineDaemon,
  release: string,
  idleRelease: string | null,
): Promise<void> {
  const app = await fx.app();
  assert.ok(app.live !== null);
  const idle = app.live === 'blue' ? 'green' : 'blue';
  assert.equal(app.colors[app.live].release, release);
  assert.equal(app.colors[idle].release, idleRelease);
  for (let i = 0; i < 40; i += 1) assert.equal(await fx.publicVersion(), release);
  const records = await fx.records();
  assert.deepEqual(
    [...new Set(records.map((record) => record.release))].sort(),
    [release, ...(idleRelease === null ? [] : [idleRelease])].sort(),
  );
}

/** Waits until the load has seen an answer from `version` (the canary serves its share). */
async function waitForAnswerFrom(fx: PipelineDaemon, version: string): Promise<void> {
  await waitFor(`an answer from ${version} on the public listener`, async () => {
    for (let i = 0; i < 20; i += 1) if ((await fx.publicVersion()) === version) return true;
    return undefined;
  });
}

describe('canary deployments (real daemon, real shop instances)', () => {
  it('rolls back a release with 5 % errors at its first step while live has none', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const bad = await fx.release('v2', { env: { SHOP_ERROR_RATE: 0.05 }, config: CANARY });
    const load = startLoad(fx.daemon.info.public, {
      clients: 4,
      maxMs: 60_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const view = await fx.deployAndWait(bad, undefined, 60_000);
    const samples = await load.stop();

    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.match(
      view.reason ?? '',
      /canary shift failed: step 1 \(20%\): canary error rate \d+\.\d% \(\d+\/\d+\) over the limit 1% \(live 0\.0%\); all traffic back on (blue|green)/,
    );
    assert.ok(!view.flipped);
    const steps = stepsOf(view);
    assert.equal(steps.length, 1, JSON.stringify(steps));
    const [step] = steps;
    assert.ok(step !== undefined);
    assert.equal(step.verdict, 'failed');
    assert.ok(step.canary.requests >= 100, `${step.canary.requests} canary requests judged`);
    assert.ok(step.canary.errorRate >= 0.03, `canary error rate ${step.canary.errorRate}`);
    assert.equal(step.live.errors, 0);
    assert.ok(step.live.requests > 0);
    assert.ok(view.steps.some((each) => each.step === 'shifting'));
    assert.ok(!view.steps.some((each) => each.step === 'flipping'));
    // The canary served before it was stopped: drained first.
    const drained = (await fx.history()).filter(
      (event) => event.type === 'drained' && event.data['color'] === view.to,
    );
    assert.equal(drained.length, 1, 'the canary was not drained');

    // The load saw the canary's share, and every failure came from the canary.
    assert.ok(
      samples.some((sample) => sample.version === 'v2'),
      'the canary got no traffic',
    );
    const failed = failures(samples);
    assert.ok(failed.length > 0, 'the canary answered no 500 to the load');
    assert.ok(failed.every((sample) => sample.version === 'v2' && sample.status === 500));
    const ended = Date.parse(view.endedAt ?? '');
    assert.ok(samples.filter((s) => s.sentAtMs > ended).every((s) => s.version === 'v1'));
    await assertServing(fx, 'v1', null);
    const events = (await fx.history()).map((event) => event.type);
    assert.ok(events.includes('canary-step'));
    assert.ok(events.includes('split-cleared'));
  });

  it('promotes a healthy release through its steps to live, the old color kept as standby', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const good = await fx.release('v2', { config: CANARY });
    const load = startLoad(fx.daemon.info.public, {
      clients: 4,
      maxMs: 60_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const view = await fx.deployAndWait(good, undefined, 60_000);
    const samples = await load.stop();

    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.deepEqual(
      stepsOf(view).map((step) => [step.index, step.percent, step.verdict]),
      [
        [0, 20, 'passed'],
        [1, 50, 'passed'],
      ],
    );
    for (const step of stepsOf(view)) {
      assert.ok(step.canary.requests >= 100);
      assert.equal(step.canary.errors, 0);
      // The router counts latency: the analysis had a p99 for both colors.
      assert.equal(typeof step.canary.p99Ms, 'number');
      assert.equal(typeof step.live.p99Ms, 'number');
    }
    // The share grew with the steps: about 20 %, then 50 % of the load answered from v2.
    assert.deepEqual(failures(samples), [], 'requests of the load failed');
    assert.deepEqual([...new Set(samples.map((sample) => sample.version))].sort(), ['v1', 'v2']);
    const shiftStart = Date.parse(view.steps.find((s) => s.step === 'shifting')?.startedAt ?? '');
    const shiftEnd = Date.parse(view.steps.find((s) => s.step === 'shifting')?.endedAt ?? '');
    const during = samples.filter((s) => s.sentAtMs > shiftStart && s.doneAtMs < shiftEnd);
    const share = during.filter((s) => s.version === 'v2').length / during.length;
    assert.ok(share > 0.1 && share < 0.6, `canary share ${share} of ${during.length} requests`);

    await assertServing(fx, 'v2', 'v1');
    const app = await fx.app();
    assert.equal(app.standby, app.live === 'blue' ? 'green' : 'blue');
    // Instant rollback stays available after a canary.
    const rollback = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(rollback.status, 200, rollback.body);
    for (let i = 0; i < 10; i += 1) assert.equal(await fx.publicVersion(), 'v1');
  });

  it('promote skips the remaining steps; refused when no canary is shifting', async (t) => {
    const fx = await pipeline(t);
    const none = await fx.daemon.admin('POST', '/v1/apps/shop/promote', { body: {} });
    assert.equal(none.status, 409, none.body);
    assert.equal(errorCode(none), 'CUTOVER_ERR_DEPLOY_NOT_SHIFTING');
    assert.match(none.body, /no deployment running; nothing to promote/);
    await deployLive(fx);
    const good = await fx.release('v2', { config: SLOW_CANARY });
    const load = startLoad(fx.daemon.info.public, {
      clients: 2,
      maxMs: 60_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const started = await fx.start(good);
    await fx.waitStep(started.id, 'shifting');
    await waitForAnswerFrom(fx, 'v2');
    const promotedAt = Date.now();
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/promote', { body: {} });
    assert.equal(reply.status, 200, reply.body);
    const view = await fx.waitEnded(started.id);
    const samples = await load.stop();
    assert.ok(Date.now() - promotedAt < 15_000, 'promote did not end the 2 min step early');
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.equal(view.report.promoted?.shiftIndex, 0);
    assert.match(view.report.promoted?.by ?? '', /unix/);
    assert.deepEqual(
      stepsOf(view).map((step) => step.verdict),
      ['promoted'],
    );
    assert.deepEqual(failures(samples), []);
    await assertServing(fx, 'v2', 'v1');
    // Bad bodies are refused before anything is promoted.
    const bad = await fx.daemon.admin('POST', '/v1/apps/shop/promote', { body: { force: true } });
    assert.equal(bad.status, 400, bad.body);
  });

  it('mirrors live requests to the idle color during warm-up with --mirror, and stops before the flip', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    // A warm-up long enough for the load to be copied: 300 requests one at a time.
    const v2 = await fx.release('v2', { config: { warmup: { requests: 300, concurrency: 1 } } });
    const load = startLoad(fx.daemon.info.public, {
      clients: 2,
      maxMs: 60_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/deployments', {
      body: { release: v2.release, dir: v2.dir, config: v2.config, mirror: true },
    });
    assert.equal(reply.status, 202, reply.body);
    const started = reply.json<DeploymentView>();
    const atWarmup = await fx.waitStep(started.id, 'warmup');
    const mirroring = await waitFor('the mirror in the stored state', async () => {
      const app = await fx.app();
      return app.mirror ?? (app.deployment?.ended === true ? null : undefined);
    });
    assert.ok(mirroring !== null, 'the deployment ended before it mirrored');
    assert.equal(mirroring.color, atWarmup.to);
    const view = await fx.waitEnded(started.id);
    const samples = await load.stop();
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.deepEqual(failures(samples), []);
    const app = await fx.app();
    assert.equal(app.mirror, undefined, 'the mirror outlived the flip');
    assert.ok(app.live !== null);
    const copies = app.colors[app.live].mirrored ?? 0;
    assert.ok(copies > 0, `no mirrored copies reached ${app.live}`);
    // Only live requests are copied: the old live color never got any.
    const old = app.live === 'blue' ? 'green' : 'blue';
    assert.equal(app.colors[old].mirrored ?? 0, 0);
  });

  it('abort mid-step puts all traffic back on the live color at once; no request fails', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const good = await fx.release('v2', { config: SLOW_CANARY });
    const load = startLoad(fx.daemon.info.public, {
      clients: 4,
      maxMs: 60_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const started = await fx.start(good);
    const atShift = await fx.waitStep(started.id, 'shifting');
    await waitForAnswerFrom(fx, 'v2');
    // The share is in the stored state, for status and for a restarted daemon.
    const shifting = await fx.app();
    assert.equal(shifting.split?.percent, 30);
    assert.equal(shifting.split?.color, atShift.to);
    assert.equal(shifting.split?.sticky, true);
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/abort', {
      body: { reason: 'wrong build' },
    });
    assert.equal(reply.status, 200, reply.body);
    const view = await fx.waitEnded(started.id);
    const samples = await load.stop();
    assert.equal(view.outcome, 'aborted', view.reason ?? '');
    assert.match(
      view.reason ?? '',
      /wrong build.*at step "shifting"; all traffic back on (blue|green)/,
    );
    assert.deepEqual(failures(samples), [], 'requests of the load failed');
    // Once the share was cleared, every request went to the live color.
    const cleared = (await fx.history()).find((event) => event.type === 'split-cleared');
    assert.ok(cleared !== undefined, 'no split-cleared event');
    const clearedMs = Date.parse(cleared.at);
    const after = samples.filter((sample) => sample.sentAtMs > clearedMs + 20);
    assert.ok(after.length > 0, 'no request of the load after the share was cleared');
    assert.deepEqual([...new Set(after.map((sample) => sample.version))], ['v1']);
    assert.ok(
      samples.some((sample) => sample.version === 'v2'),
      'the canary got no traffic',
    );
    await assertServing(fx, 'v1', null);
    assert.equal((await fx.app()).split, undefined);
  });

  it('resumes a canary after a kill -9 of the daemon mid-shift, to a consistent end', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const good = await fx.release('v2', {
      config: {
        ...CANARY,
        canary: {
          ...CANARY.canary,
          steps: [
            { weight: '20%', pause: '1s' },
            { weight: '40%', pause: '1s' },
            { weight: '60%', pause: '1s' },
          ],
        },
      },
    });
    const load = startLoad(fx.daemon.info.public, {
      clients: 4,
      maxMs: 90_000,
      maxRequests: LOAD_MAX_REQUESTS,
    });
    const started = await fx.start(good);
    // Mid-shift: the first step passed, the second one under way.
    await waitFor('the first canary step passed', async () => {
      const current = await fx.view(started.id);
      if (current.ended) throw new Error(`ended early: ${current.reason}`);
      return stepsOf(current).length >= 1 ? true : undefined;
    });
    await fx.restart('SIGKILL');
    const view = await fx.waitEnded(started.id, 60_000);
    const samples = await load.stop();
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.ok(view.resumes >= 1, 'the deployment was not resumed');
    // It went on from the step after the one that passed: each step judged once, in order.
    assert.deepEqual(
      stepsOf(view).map((step) => [step.index, step.verdict]),
      [
        [0, 'passed'],
        [1, 'passed'],
        [2, 'passed'],
      ],
    );
    // The load saw only good answers and connection errors while the router was down.
    assert.ok(samples.every((sample) => sample.status === 200 || sample.status === null));
    await assertServing(fx, 'v2', 'v1');
  });
});
