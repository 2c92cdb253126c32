// The deployment pipeline's promises (issue 3 items 3 and 5, QUALITY.md E4, E6) against a real
// daemon and real shop instances: steps in order, zero failed requests under load through a
// deployment, refusal before the flip, automatic flip back, abort, drills and the history.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { DeploymentView, DrillReport } from '../../src/client/api-types.ts';
import type { AdminReply } from '../helpers/daemon.ts';
import {
  errorCode,
  isAlive,
  openEventStream,
  SHOP_SERVER,
  startedPids,
  startLoad,
  startPipelineDaemon,
  waitFor,
  type LoadSample,
  type PipelineDaemon,
} from '../helpers/pipeline-fixture.ts';

/** The minimal cutover.yaml of issue 3 item 1, which scripts rely on. */
const MINIMAL_CONFIG = `app: shop
start: node server.js   # process runtime; each instance gets its own PORT
instances: 2
health:
  path: /healthz
smoke:
  - path: /
    status: 200
`;

/** A command smoke check: GET / on the idle color's preview URL, kept in preview-seen.json. */
const PREVIEW_SCRIPT = `
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
const url = new URL(process.env.CUTOVER_URL);
const req = request(
  { host: url.hostname, port: url.port, path: '/', headers: { host: process.env.CUTOVER_HOST } },
  (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      writeFileSync('preview-seen.json', JSON.stringify({ atMs: Date.now(), status: res.statusCode, body }));
      process.exit(res.statusCode === 200 ? 0 : 1);
    });
  },
);
req.on('error', (error) => {
  console.error(error.message);
  process.exit(1);
});
req.end();
`;

/** A daemon of its own for one test, closed (with every instance it left) when the test ends. */
async function pipeline(t: TestContext): Promise<PipelineDaemon> {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  return fx;
}

function stepNames(view: DeploymentView): string[] {
  return view.steps.map((step) => step.step).filter((step) => step !== 'locking');
}

function stepOf(view: DeploymentView, name: string) {
  const found = view.steps.find((step) => step.step === name);
  assert.ok(found, `step ${name} in ${stepNames(view).join(', ')}`);
  return found;
}

async function allGone(pids: readonly number[]): Promise<boolean> {
  for (const pid of pids) if (await isAlive(pid)) return false;
  return true;
}

describe('the deployment pipeline (real daemon, real shop instances)', () => {
  it('deploys v1 first: steps in order with durations, smoke on the preview, then v1 public', async (t) => {
    const fx = await pipeline(t);
    const v1 = await fx.release('v1', {
      files: { 'preview-seen.mjs': PREVIEW_SCRIPT },
      config: {
        smoke: [
          { path: '/', status: 200, json: { app: 'shop', version: 'v1' } },
          { command: 'node preview-seen.mjs' },
        ],
      },
    });
    const view = await fx.deployAndWait(v1);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.equal(view.from, null);
    assert.equal(view.to, 'blue');
    assert.equal(view.flipped, true);
    assert.deepEqual(stepNames(view), [
      'resolving',
      'drift-check',
      'schema-check',
      'starting',
      'migrating',
      'smoke',
      'warmup',
      'flipping',
      'verifying',
      'standby',
    ]);
    for (const [i, step] of view.steps.entries()) {
      assert.equal(typeof step.durationMs, 'number', `${step.step} has a duration`);
      assert.ok(step.endedAt !== null);
      assert.equal(step.durationMs, Date.parse(step.endedAt) - Date.parse(step.startedAt));
      const next = view.steps[i + 1];
      if (next !== undefined) assert.equal(next.startedAt, step.endedAt, `${next.step} follows`);
    }
    // The probe window of 500 ms is a floor for the verifying step.
    assert.ok((stepOf(view, 'verifying').durationMs ?? 0) >= 500);

    const start = view.report.start;
    assert.ok(start !== undefined);
    assert.deepEqual(
      start.instances.map((instance) => instance.id),
      ['shop-blue-1', 'shop-blue-2'],
    );
    const ports = start.instances.map((instance) => instance.address);
    assert.equal(new Set(ports).size, 2, `two addresses: ${ports.join(', ')}`);
    for (const address of ports) assert.match(address, /^127\.0\.0\.1:\d+$/);

    const smoke = view.report.smoke;
    assert.ok(smoke !== undefined);
    assert.equal(smoke.passed, true);
    assert.deepEqual(
      smoke.checks.map((check) => check.outcome),
      ['passed', 'passed'],
    );
    // The command check saw v1 on blue through the preview listener, before the flip.
    const seen = JSON.parse(await readFile(join(v1.dir, 'preview-seen.json'), 'utf8')) as {
      atMs: number;
      status: number;
      body: string;
    };
    const previewBody = JSON.parse(seen.body) as { version: string; color: string };
    assert.equal(seen.status, 200);
    assert.equal(previewBody.version, 'v1');
    assert.equal(previewBody.color, 'blue');
    assert.ok(seen.atMs <= Date.parse(stepOf(view, 'flipping').startedAt));

    assert.equal(await fx.publicVersion(), 'v1');
    const app = await fx.app();
    assert.equal(app.live, 'blue');
    assert.equal(app.colors.blue.release, 'v1');
  });

  it("deploys the issue's minimal cutover.yaml exactly as written, on its defaults", async (t) => {
    const fx = await pipeline(t);
    // `start: node server.js` runs in the release dir: a server.js there starts the shop app.
    const dir = (
      await fx.release('v1', {
        files: { 'server.js': `import(${JSON.stringify(SHOP_SERVER)});\n` },
      })
    ).dir;
    const minimal = { app: 'shop', release: 'v1', dir, config: MINIMAL_CONFIG };
    const view = await fx.deployAndWait(minimal, undefined, 60_000);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.deepEqual(
      view.report.start?.instances.map((instance) => instance.id),
      ['shop-blue-1', 'shop-blue-2'],
    );
    assert.deepEqual(
      view.report.smoke?.checks.map((check) => check.outcome),
      ['passed'],
    );
    // The default switch window: 30 s of probes, one a second, on the health path.
    const verify = view.report.verify;
    assert.ok(verify !== undefined);
    assert.equal(verify.ok, true);
    assert.ok(verify.probes >= 25 && verify.probes <= 35, `${verify.probes} probes`);
    assert.ok(verify.timeline.every((probe) => probe.path === '/healthz'));
    // The shop shows CUTOVER_RELEASE as its version when SHOP_VERSION is not set.
    assert.equal(await fx.publicVersion(), 'v1');
  });

  it('deploys v2 under steady load: zero failed requests, v1 or v2 only, v2 only after the flip', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    const v2 = await fx.release('v2', { config: { switch: { probeWindow: '2s' } } });
    const load = startLoad(fx.daemon.info.public, { clients: 4, maxMs: 10_000 });
    let view: DeploymentView;
    let samples: readonly LoadSample[];
    try {
      view = await fx.deployAndWait(v2);
    } finally {
      samples = await load.stop();
    }
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.equal(view.from, 'blue');
    assert.equal(view.to, 'green');
    assert.ok(samples.length > 50, `${samples.length} requests`);
    const failed = samples.filter((sample) => sample.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} failed`);
    const versions = new Set(samples.map((sample) => sample.version));
    assert.deepEqual([...versions].sort(), ['v1', 'v2']);
    const flippedAtMs = Date.parse(stepOf(view, 'flipping').endedAt ?? '');
    const late = samples.filter((sample) => sample.sentAtMs > flippedAtMs);
    assert.ok(late.length > 10, `${late.length} requests after the flip`);
    const stale = late.filter((sample) => sample.version !== 'v2');
    assert.deepEqual(stale.slice(0, 5), [], `${stale.length} answers from v1 after the flip`);
    // E6: succeeded means the live traffic is all v2: 50 requests on new connections.
    for (let i = 0; i < 50; i += 1) assert.equal(await fx.publicVersion(), 'v2');
    const app = await fx.app();
    assert.equal(app.live, 'green');
    assert.equal(app.standby, 'blue');
    assert.equal(app.colors.blue.release, 'v1');
  });

  it('refuses a release whose smoke check fails: live unchanged, its instances stopped, its color empty', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    const flipsBefore = (await fx.app()).flips.length;
    const v3 = await fx.release('v3', {
      env: { SHOP_FAULT: 'broken-catalog' },
      config: {
        smoke: [
          { path: '/', status: 200 },
          { path: '/api/products', status: 200, bodyContains: 'mug' },
        ],
      },
    });
    const view = await fx.deployAndWait(v3);
    assert.equal(view.outcome, 'failed');
    assert.deepEqual(stepNames(view).slice(-2), ['smoke', 'cleaning-up']);
    assert.equal(view.flipped, false);
    assert.match(view.reason ?? '', /smoke/);
    assert.match(view.reason ?? '', /GET \/api\/products/);
    assert.match(view.reason ?? '', /status 500/);
    const failedCheck = view.report.smoke?.checks.find((check) => check.outcome === 'failed');
    assert.match(failedCheck?.name ?? '', /\/api\/products/);

    assert.equal(await fx.publicVersion(), 'v1');
    const app = await fx.app();
    assert.equal(app.live, 'blue');
    assert.equal(app.flips.length, flipsBefore);
    assert.equal(app.colors.green.release, null);
    assert.deepEqual(app.colors.green.instances, []);
    const pids = startedPids(await fx.history(), 'green');
    assert.equal(pids.length, 2);
    assert.ok(await allGone(pids), `v3 pids ${pids.join(', ')} are gone`);
    const records = await fx.records();
    assert.deepEqual(
      records.map((record) => record.release),
      ['v1', 'v1'],
    );
  });

  it('fails at starting when instances exit or never pass /healthz, naming them', async (t) => {
    const fx = await pipeline(t);
    for (const [release, options] of [
      ['v5', { config: { start: 'node -e "process.exit(3)"' } }],
      ['v6', { config: { health: { path: '/no-such-health-page' } } }],
    ] as const) {
      const started = await fx.start(
        await fx.release(release, {
          ...options,
          config: {
            ...options.config,
            health: {
              ...('health' in options.config ? options.config.health : {}),
              startTimeout: '2s',
            },
          },
        }),
      );
      // The addresses of the instances, as placed while they start.
      const addresses = await waitFor(`${release} instances placed`, async () => {
        const app = await fx.app().catch(() => null);
        const instances = app?.colors.blue.instances ?? [];
        return instances.length === 2 ? instances.map((instance) => instance.address) : undefined;
      });
      const view = await fx.waitEnded(started.id);
      assert.equal(view.outcome, 'failed', release);
      assert.deepEqual(stepNames(view).slice(-2), ['starting', 'cleaning-up'], release);
      assert.equal(view.flipped, false);
      assert.match(view.reason ?? '', /health check/);
      for (const address of addresses) {
        assert.ok(view.reason?.includes(address), `${release}: ${view.reason} names ${address}`);
      }
      assert.deepEqual(await fx.records(), [], `${release}: no instance left`);
    }
    // Nothing was ever live.
    const reply = await fx.daemon.admin('GET', '/v1/apps/shop');
    if (reply.status === 200) assert.equal(reply.json<{ live: null }>().live, null);
  });

  it('rolls back automatically when probes fail after the flip; with autoRollback off, traffic stays', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    const v1Pids = startedPids(await fx.history(), 'blue');
    // v4: fine for smoke (1 request per instance) and warm-up (4), 500s after 5 requests each.
    const failing = {
      env: { SHOP_FAULT: 'fails-under-traffic', SHOP_FAIL_AFTER_REQUESTS: 5 },
      config: { switch: { probeWindow: '3s' } },
    };
    const v4 = await fx.release('v4', failing);
    const view = await fx.deployAndWait(v4);
    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.deepEqual(stepNames(view).slice(-3), ['verifying', 'rolling-back', 'cleaning-up']);
    assert.equal(view.flipped, false);
    assert.match(view.reason ?? '', /switch window failed/);
    assert.match(view.reason ?? '', /status 500/);
    const verify = view.report.verify;
    assert.ok(verify !== undefined);
    assert.equal(verify.ok, false);
    assert.ok(verify.failedProbes >= 1);
    const bad = verify.timeline.find((probe) => !probe.ok);
    assert.equal(bad?.status, 500);
    assert.ok(view.report.flipBack !== undefined);
    // The flip back took the verify window's remainder off: far less than 3 s.
    assert.ok((stepOf(view, 'verifying').durationMs ?? 0) < 2_500);

    const app = await fx.app();
    assert.equal(app.live, 'blue');
    assert.equal(app.colors.blue.release, 'v1');
    assert.equal(app.colors.green.release, null);
    assert.deepEqual(
      app.flips.map((flip) => [flip.kind, flip.release]),
      [
        ['deploy', 'v1'],
        ['deploy', 'v4'],
        ['rollback', 'v1'],
      ],
    );
    assert.equal(await fx.publicVersion(), 'v1');
    const pids = startedPids(await fx.history(), 'green');
    assert.equal(pids.length, 2);
    assert.ok(await allGone(pids), `v4 pids ${pids.join(', ')} are gone`);
    // The old color stayed warm: the same v1 processes serve again, never restarted.
    assert.deepEqual(startedPids(await fx.history(), 'blue'), v1Pids);
    for (const pid of v1Pids) assert.ok(await isAlive(pid), `v1 pid ${pid} runs`);

    // The same release with auto-rollback off: the deployment fails, traffic stays on v4.
    const v4b = await fx.release('v4', {
      ...failing,
      config: { switch: { probeWindow: '3s', autoRollback: false } },
    });
    const kept = await fx.deployAndWait(v4b);
    assert.equal(kept.outcome, 'failed', kept.reason ?? '');
    assert.equal(kept.flipped, true);
    assert.match(kept.reason ?? '', /auto-rollback is off/);
    assert.equal(kept.report.verify?.ok, false);
    const after = await fx.app();
    assert.equal(after.live, 'green');
    assert.equal(after.colors.green.release, 'v4');
    assert.equal(await fx.publicVersion(), 'v4');
  });

  it('flips back when real traffic fails above the threshold, though every probe passes', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    // The catalog answers 500 on v2; the smoke checks and probes only look at /.
    const v2 = await fx.release('v2', {
      env: { SHOP_FAULT: 'broken-catalog' },
      config: { switch: { probeWindow: '3s', failureThreshold: '10%' } },
    });
    const load = startLoad(fx.daemon.info.public, { clients: 2, path: '/api/products' });
    let view: DeploymentView;
    let samples: readonly LoadSample[];
    try {
      view = await fx.deployAndWait(v2);
    } finally {
      samples = await load.stop();
    }
    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.match(
      view.reason ?? '',
      /error rate [\d.]+% \(\d+ of \d+ requests\) above the 10% threshold/,
    );
    assert.equal(view.report.verify?.failedProbes, 0);
    assert.ok((stepOf(view, 'verifying').durationMs ?? 0) < 2_500, 'before the window ended');
    assert.equal((await fx.app()).live, 'blue');
    const failures = samples.filter((sample) => sample.status !== 200);
    assert.ok(failures.length > 0, 'the users saw v2 fail');
    assert.ok(
      failures.every((sample) => sample.status === 500 && sample.version === 'v2'),
      'only v2 failed',
    );
    const endedAtMs = Date.parse(view.endedAt ?? '');
    const late = samples.filter((sample) => sample.sentAtMs > endedAtMs);
    assert.ok(late.every((sample) => sample.status === 200 && sample.version === 'v1'));
  });

  it('aborts during warm-up (nothing flipped) and during verifying (flips back); 409/404 after the end', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    const flipsBefore = (await fx.app()).flips.length;

    const slowWarmup = await fx.release('v2', {
      config: { warmup: { requests: undefined, duration: '30s', paths: ['/'], concurrency: 1 } },
    });
    const warming = await fx.start(slowWarmup);
    // Live progress: what the step waits for.
    const inWarmup = await waitFor('warm-up progress', async () => {
      const current = await fx.waitStep(warming.id, 'warmup');
      return current.waitingFor === null ? undefined : current;
    });
    assert.match(inWarmup.waitingFor ?? '', /warm-up traffic for 30000 ms/);
    const abortedAt = Date.now();
    const reply = await fx.daemon.admin('POST', '/v1/apps/shop/abort', {
      body: { reason: 'wrong build' },
    });
    assert.equal(reply.status, 200, reply.body);
    const aborted = await fx.waitEnded(warming.id);
    assert.ok(Date.now() - abortedAt < 5_000, 'the abort ends the warm-up at once');
    assert.equal(aborted.outcome, 'aborted');
    assert.equal(aborted.flipped, false);
    assert.match(aborted.reason ?? '', /wrong build/);
    assert.match(aborted.reason ?? '', /warmup/);
    assert.equal((await fx.app()).flips.length, flipsBefore, 'nothing flipped');
    assert.equal(await fx.publicVersion(), 'v1');
    const warmPids = startedPids(await fx.history(), 'green');
    assert.equal(warmPids.length, 2);
    assert.ok(await allGone(warmPids));
    assert.equal((await fx.app()).colors.green.release, null);

    const longWindow = await fx.release('v2', { config: { switch: { probeWindow: '30s' } } });
    const verifying = await fx.start(longWindow);
    const inWindow = await waitFor('probe progress', async () => {
      const current = await fx.waitStep(verifying.id, 'verifying');
      return /probes ok so far/.test(current.waitingFor ?? '') ? current : undefined;
    });
    assert.equal(inWindow.flipped, true);
    assert.equal(await fx.publicVersion(), 'v2');
    const byId = await fx.daemon.admin('POST', `/v1/deployments/${verifying.id}/abort`, {
      body: {},
    });
    assert.equal(byId.status, 200, byId.body);
    const flippedBack = await fx.waitEnded(verifying.id);
    assert.equal(flippedBack.outcome, 'aborted');
    assert.equal(flippedBack.flipped, false);
    assert.match(flippedBack.reason ?? '', /flipping back to blue/);
    assert.equal(await fx.publicVersion(), 'v1');
    const app = await fx.app();
    assert.equal(app.live, 'blue');
    assert.deepEqual(
      app.flips.slice(flipsBefore).map((flip) => [flip.kind, flip.to]),
      [
        ['deploy', 'green'],
        ['rollback', 'blue'],
      ],
    );

    const ended = await fx.daemon.admin('POST', `/v1/deployments/${verifying.id}/abort`, {
      body: {},
    });
    assert.equal(ended.status, 409, ended.body);
    assert.equal(errorCode(ended), 'CUTOVER_ERR_DEPLOY_ENDED');
    const none = await fx.daemon.admin('POST', '/v1/apps/shop/abort', { body: {} });
    assert.equal(none.status, 404, none.body);
    assert.equal(errorCode(none), 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
  });

  it('drills under load: refused without a standby, then rto < 1 s, 0 failed, v2 live again', async (t) => {
    const fx = await pipeline(t);
    assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
    const lone = await fx.daemon.admin('POST', '/v1/apps/shop/drill', { body: {} });
    assert.equal(lone.status, 409, lone.body);
    assert.equal(errorCode(lone), 'CUTOVER_ERR_ROLLBACK_NO_STANDBY');

    // A 1 s window per drill phase: the load sees v1 while the drill is back on it.
    const v2 = await fx.release('v2', { config: { switch: { probeWindow: '1s' } } });
    assert.equal((await fx.deployAndWait(v2)).outcome, 'succeeded');
    const load = startLoad(fx.daemon.info.public, { clients: 4, maxMs: 10_000 });
    let reply: AdminReply;
    let samples: readonly LoadSample[];
    try {
      reply = await fx.daemon.admin('POST', '/v1/apps/shop/drill', { body: {}, timeoutMs: 30_000 });
    } finally {
      samples = await load.stop();
    }
    assert.equal(reply.status, 200, reply.body);
    const drill = reply.json<DrillReport>();
    assert.equal(drill.passed, true, drill.reason ?? '');
    assert.equal(drill.live, 'green');
    assert.equal(drill.standby, 'blue');
    assert.ok(drill.rtoMs < 1_000, `rto ${drill.rtoMs} ms`);
    assert.equal(drill.failedRequests, 0);
    assert.ok(drill.requests > 0);
    assert.ok(drill.forward !== null);
    const failed = samples.filter((sample) => sample.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${samples.length} failed`);
    assert.deepEqual([...new Set(samples.map((sample) => sample.version))].sort(), ['v1', 'v2']);
    assert.equal(await fx.publicVersion(), 'v2');
    const app = await fx.app();
    assert.equal(app.live, 'green');
    assert.equal(app.standby, 'blue');
    const history = await fx.history();
    const types = history.map((event) => event.type);
    assert.ok(types.includes('drill-started'));
    const recorded = history.find((event) => event.type === 'drill');
    assert.deepEqual(
      [recorded?.data['passed'], recorded?.data['rtoMs'], recorded?.data['failedRequests']],
      [true, drill.rtoMs, 0],
    );
  });

  it('deploys two apps at once, each on its own lock and Host, without touching the other', async (t) => {
    const fx = await pipeline(t);
    const forApp = (app: string, version: string) =>
      fx.release(version, { config: { app, hosts: [`${app}.example.com`] } });
    const first = await Promise.all([
      fx.start(await forApp('shop', 'v1')),
      fx.start(await forApp('cart', 'c1')),
    ]);
    const second = await Promise.all(first.map((started) => fx.waitEnded(started.id)));
    assert.deepEqual(
      second.map((view) => [view.app, view.outcome]),
      [
        ['shop', 'succeeded'],
        ['cart', 'succeeded'],
      ],
    );
    // Both again, side by side: each app's second deployment flips only that app.
    const again = await Promise.all([
      fx.start(await forApp('shop', 'v2')),
      fx.start(await forApp('cart', 'c2')),
    ]);
    for (const view of await Promise.all(again.map((started) => fx.waitEnded(started.id)))) {
      assert.equal(view.outcome, 'succeeded', `${view.app}: ${view.reason}`);
      assert.equal(view.to, 'green');
    }
    for (const [host, version] of [
      ['shop.example.com', 'v2'],
      ['cart.example.com', 'c2'],
    ] as const) {
      const reply = await fx.daemon.get('public', '/', { host });
      assert.equal(reply.status, 200, host);
      assert.equal(reply.json<{ version: string }>().version, version, host);
    }
    const unknown = await fx.daemon.get('public', '/', { host: 'other.example.com' });
    assert.equal(unknown.status, 421);
    assert.deepEqual(
      (await fx.records('cart')).map((record) => `${record.id} ${record.release}`),
      ['cart-blue-1 c1', 'cart-blue-2 c1', 'cart-green-1 c2', 'cart-green-2 c2'],
    );
  });

  it('records the deployment in the history and streams it live as server-sent events', async (t) => {
    const fx = await pipeline(t);
    const stream = await openEventStream(fx.daemon.info.admin.socket, '?app=shop');
    try {
      const view = await fx.deployAndWait(await fx.release('v1'));
      assert.equal(view.outcome, 'succeeded');
      const live = await waitFor('deployment-ended on the stream', () =>
        stream.events.some((event) => event.type === 'deployment-ended')
          ? stream.events
          : undefined,
      );
      const history = await fx.history();
      for (const events of [live.map((event) => event.data), history]) {
        const ofIt = events.filter((event) => event.data['deployment'] === view.id);
        const types = ofIt.map((event) => event.type);
        assert.equal(types[0], 'deployment-started');
        assert.equal(types.at(-1), 'deployment-ended');
        const steps = ofIt.filter((event) => event.type === 'deployment-step');
        assert.deepEqual(
          steps.map((event) => event.data['step']),
          stepNames(view),
        );
        for (const step of steps) assert.equal(typeof step.data['durationMs'], 'number');
        const ended = ofIt.at(-1);
        assert.equal(ended?.data['outcome'], 'succeeded');
      }
      // The stream carried the same entries as the stored history, in the same order.
      const liveIds = live.map((event) => event.data.id);
      const storedIds = history.map((event) => event.id).filter((id) => liveIds.includes(id));
      assert.deepEqual(
        storedIds,
        [...liveIds].sort((a, b) => a - b),
      );
      for (const event of live) assert.equal(event.type, event.data.type);
    } finally {
      stream.close();
    }
  });
});
