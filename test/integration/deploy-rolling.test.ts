// The rolling strategy (issue 5) against a real daemon and real shop instances, under a bounded
// steady load through the public listener: the live color's 3 instances are replaced one at a
// time with never more than 4 running, no request of the load fails, and at the end all traffic
// is on the new release with the old color empty (so rollback says there is no standby); a
// release that fails under real traffic is stopped at its batch and the old release is whole
// again; a kill -9 of the daemon mid-shift resumes to the same consistent end.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeploymentView, RollingReport } from '../../src/client/api-types.ts';
import {
  errorCode,
  isAlive,
  startLoad,
  startPipelineDaemon,
  waitFor,
  type LoadSample,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';

const N = 3;
const ROLLING = { strategy: 'rolling', rolling: { batch: 1, pause: '1s' } };

async function pipeline(t: TestContext): Promise<PipelineDaemon> {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  return fx;
}

/** Counts the app's instance records every few ms until stopped; keeps the highest count. */
function watchPeak(fx: PipelineDaemon): { stop(): Promise<number> } {
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    const deadline = Date.now() + 120_000;
    while (!stopped && Date.now() < deadline) {
      peak = Math.max(peak, (await fx.records()).length);
      await delay(5);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peak;
    },
  };
}

/** The most instances alive at once, replayed from the history's start and stop events. */
async function startsAndPeak(fx: PipelineDaemon): Promise<{ peak: number; started: number }> {
  let alive = 0;
  let peak = 0;
  let started = 0;
  for (const event of await fx.history()) {
    if (event.type === 'instance-started') {
      alive += 1;
      started += 1;
    }
    if (event.type === 'instance-stopped') alive -= 1;
    peak = Math.max(peak, alive);
  }
  return { peak, started };
}

function failures(samples: readonly LoadSample[]): readonly LoadSample[] {
  return samples.filter((sample) => sample.status !== 200 || sample.error !== null);
}

function rollingOf(view: DeploymentView): RollingReport {
  const report = view.report.rolling;
  assert.ok(report, `no rolling report: ${JSON.stringify(view.report)}`);
  return report;
}

/** All of the old color gone, the live color N instances of `release`, all sampled answers from it. */
async function assertWholeOn(fx: PipelineDaemon, release: string): Promise<void> {
  const app = await fx.app();
  assert.ok(app.live !== null);
  const other = app.live === 'blue' ? 'green' : 'blue';
  assert.equal(app.colors[app.live].release, release);
  assert.equal(app.colors[app.live].instances.length, N);
  const records = await fx.records();
  assert.equal(records.length, N, JSON.stringify(records));
  for (const record of records) {
    assert.equal(record.release, release);
    assert.equal(record.color, app.live);
    assert.ok(await isAlive(record.pid), `${record.id} (pid ${record.pid}) is not running`);
  }
  for (let i = 0; i < 20; i += 1) assert.equal(await fx.publicVersion(), release);
  return void other;
}

async function deployLive(fx: PipelineDaemon): Promise<ShopRelease> {
  const v1 = await fx.release('v1', { instances: N });
  const first = await fx.deployAndWait(v1);
  assert.equal(first.outcome, 'succeeded', first.reason ?? '');
  return v1;
}

describe('rolling deployments (real daemon, real shop instances)', () => {
  it('replaces 3 instances one at a time: at most 4 run, no request fails, the old color ends empty', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const v2 = await fx.release('v2', { instances: N, config: ROLLING });
    const peak = watchPeak(fx);
    const load = startLoad(fx.daemon.info.public, { clients: 4, maxMs: 60_000 });
    const view = await fx.deployAndWait(v2, undefined, 60_000);
    const samples = await load.stop();
    const highest = await peak.stop();
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.ok(
      view.steps.some((step) => step.step === 'shifting'),
      JSON.stringify(view.steps),
    );

    assert.ok(samples.length > 100, `only ${samples.length} requests in the load`);
    assert.deepEqual(failures(samples), [], 'requests of the load failed');
    // The traffic moved gradually: both releases answered while the shift ran.
    const versions = new Set(samples.map((sample) => sample.version));
    assert.deepEqual([...versions].sort(), ['v1', 'v2']);

    assert.ok(highest <= N + 1, `${highest} instances recorded at once`);
    // v1's 3, then v2's 3, each started once; never more than 4 alive.
    assert.deepEqual(await startsAndPeak(fx), { peak: N + 1, started: 2 * N });

    const rolling = rollingOf(view);
    assert.deepEqual(
      rolling.batches.map((batch) => [batch.percent, batch.fresh, batch.old, batch.ok]),
      [
        [33.33, 1, 2, true],
        [66.67, 2, 1, true],
        [100, 3, 0, true],
      ],
    );
    assert.match(rolling.note, /no instant rollback/);
    assert.equal(rolling.restored, null);

    await assertWholeOn(fx, 'v2');
    const app = await fx.app();
    const old = app.live === 'blue' ? 'green' : 'blue';
    assert.equal(app.colors[old].release, null);
    assert.equal(app.colors[old].instances.length, 0);
    assert.equal(app.standby, null);

    const rollback = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(rollback.status, 409, rollback.body);
    assert.equal(errorCode(rollback), 'CUTOVER_ERR_ROLLBACK_NO_STANDBY');
    assert.match(rollback.body, /no standby/);
  });

  it('puts a release that fails under traffic back on the old release with 3 instances', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    // Smoke (1 request) and warm-up (4) pass; its share of the load and the probes do not.
    const bad = await fx.release('v3', {
      instances: N,
      env: { SHOP_FAULT: 'fails-under-traffic', SHOP_FAIL_AFTER_REQUESTS: 10 },
      config: ROLLING,
    });
    const load = startLoad(fx.daemon.info.public, { clients: 2, maxMs: 60_000 });
    const view = await fx.deployAndWait(bad, undefined, 60_000);
    const samples = await load.stop();
    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.match(view.reason ?? '', /batch 1: .*(error rate|probe)/);
    assert.match(view.reason ?? '', /back on (blue|green) with 3 instances of the old release/);

    const rolling = rollingOf(view);
    assert.ok(rolling.restored, 'no restore in the report');
    assert.equal(rolling.restored.problem, null);
    assert.equal(rolling.restored.live, N);
    assert.equal(rolling.restored.started, 1, 'batch 1 took one old instance out');
    // Old instances were left to serve: the share went first, before any restart.
    const { trafficBackMs, durationMs } = rolling.restored;
    assert.ok(trafficBackMs !== undefined && durationMs !== undefined);
    assert.ok(trafficBackMs < 1000 && trafficBackMs <= durationMs, `${trafficBackMs} ms`);

    await assertWholeOn(fx, 'v1');
    const app = await fx.app();
    const idle = app.live === 'blue' ? 'green' : 'blue';
    assert.equal(app.colors[idle].release, null);
    // The load's failures came from the bad release's share only, and ended with the restore.
    assert.deepEqual(
      failures(samples).filter((sample) => sample.version !== 'v3'),
      [],
      'the old release failed requests',
    );
    const lastBad = Math.max(0, ...failures(samples).map((sample) => sample.doneAtMs));
    const ended = Date.parse(view.endedAt ?? '');
    assert.ok(lastBad <= ended, 'failed requests after the deployment ended');
  });

  it('aborts mid-shift: all traffic back on the old release, whole again, no request of the load failed', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const v2 = await fx.release('v2', {
      instances: N,
      config: { ...ROLLING, rolling: { batch: 1, pause: '30s' } },
    });
    const load = startLoad(fx.daemon.info.public, { clients: 4, maxMs: 60_000 });
    const started = await fx.start(v2);
    await waitFor('the first batch watched', async () => {
      const current = await fx.view(started.id);
      return /batch 1: watching/.test(current.waitingFor ?? '') ? true : undefined;
    });
    const abortedAt = Date.now();
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/abort', {
      body: { reason: 'wrong build' },
    });
    assert.equal(reply.status, 200, reply.body);
    const view = await fx.waitEnded(started.id);
    const samples = await load.stop();
    assert.ok(Date.now() - abortedAt < 10_000, 'the abort did not end the 30 s watch early');
    assert.equal(view.outcome, 'aborted', view.reason ?? '');
    assert.match(view.reason ?? '', /wrong build|aborted/);
    assert.deepEqual(failures(samples), [], 'requests of the load failed');
    const rolling = rollingOf(view);
    assert.equal(rolling.restored?.live, N);
    assert.equal(rolling.restored.started, 1);
    await assertWholeOn(fx, 'v1');
  });

  it('refuses to promote a rolling deployment, which goes on batch by batch', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const v2 = await fx.release('v2', { instances: N, config: ROLLING });
    const started = await fx.start(v2);
    await waitFor('the first batch watched', async () => {
      const current = await fx.view(started.id);
      return /batch 1: watching/.test(current.waitingFor ?? '') ? true : undefined;
    });
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/promote', { body: {} });
    assert.equal(reply.status, 409, reply.body);
    assert.equal(errorCode(reply), 'CUTOVER_ERR_DEPLOY_NOT_SHIFTING');
    assert.match(reply.body, /rolling/);
    const view = await fx.waitEnded(started.id);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.equal(rollingOf(view).batches.length, N);
    await assertWholeOn(fx, 'v2');
  });

  it('resumes a shift after a kill -9 of the daemon mid-batch, to the same end', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const v2 = await fx.release('v2', {
      instances: N,
      config: { ...ROLLING, rolling: { batch: 1, pause: '1500ms' } },
    });
    const started = await fx.start(v2);
    // Mid-shift: the first batch is in place (one old instance out), its watch under way.
    await waitFor('the first batch in place', async () => {
      const app = await fx.app();
      const live = app.live;
      if (live === null) return undefined;
      return app.colors[live].instances.length === N - 1 ? true : undefined;
    });
    await fx.restart('SIGKILL');
    const view = await fx.waitEnded(started.id, 60_000);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.ok(view.resumes >= 1, 'the deployment was not resumed');
    const { peak, started: starts } = await startsAndPeak(fx);
    assert.ok(peak <= N + 1, `${peak} instances alive at once`);
    assert.ok(starts >= 2 * N, `${starts} instance starts`);
    await assertWholeOn(fx, 'v2');
    const rolling = rollingOf(view);
    assert.equal(rolling.batches.at(-1)?.old, 0);
    assert.equal(rolling.batches.at(-1)?.fresh, N);
  });

  it('finishes the way back to the old release after a kill -9 in the middle of it', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const bad = await fx.release('v3', {
      instances: N,
      env: { SHOP_FAULT: 'fails-under-traffic', SHOP_FAIL_AFTER_REQUESTS: 10 },
      config: ROLLING,
    });
    const started = await fx.start(bad);
    await waitFor('the way back', async () => {
      const current = await fx.view(started.id);
      return / on (blue|green) again/.test(current.waitingFor ?? '') ? true : undefined;
    });
    await fx.restart('SIGKILL');
    const view = await fx.waitEnded(started.id);
    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.ok(view.resumes >= 1, 'the deployment was not resumed');
    assert.equal(rollingOf(view).restored?.live, N);
    await assertWholeOn(fx, 'v1');
  });

  it('puts the old release back whole after an abort and a kill -9 before the way back ended', async (t) => {
    const fx = await pipeline(t);
    await deployLive(fx);
    const v2 = await fx.release('v2', {
      instances: N,
      config: { ...ROLLING, rolling: { batch: 1, pause: '30s' } },
    });
    const started = await fx.start(v2);
    await waitFor('the first batch watched', async () => {
      const current = await fx.view(started.id);
      return /batch 1: watching/.test(current.waitingFor ?? '') ? true : undefined;
    });
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/abort', { body: { reason: 'x' } });
    assert.equal(reply.status, 200);
    // The abort is stored; the daemon dies before its way back ends: the next one finishes it.
    await delay(80);
    await fx.restart('SIGKILL');
    const view = await fx.waitEnded(started.id);
    assert.equal(view.outcome, 'aborted', view.reason ?? '');
    await assertWholeOn(fx, 'v1');
  });
});
