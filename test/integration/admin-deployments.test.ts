// The deployment routes of the admin API against a real daemon and real upstreams (external
// runtime, so no instance outlives the test): 202 on start, reads, abort by id and by app, 404
// for unknown ids, the audit line of each mutation, and a drill through the public listener.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeploymentView, DrillReport, HistoryResponse } from '../../src/client/api-types.ts';
import { startTestDaemon, type AdminReply, type TestDaemon } from '../helpers/daemon.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const WAIT_MS = 30_000;
const POLL_MS = 50;

/** An external-runtime cutover.yaml with fast health checks and a short probe window. */
function configText(healthPath: string, startTimeout: string): string {
  return [
    'app: shop',
    'runtime: external',
    'health:',
    `  path: ${healthPath}`,
    '  interval: 50ms',
    '  timeout: 1s',
    '  rise: 1',
    `  startTimeout: ${startTimeout}`,
    'switch:',
    '  probeWindow: 300ms',
    '  probeInterval: 50ms',
    'rto: 5s',
    '',
  ].join('\n');
}

function errorCode(reply: AdminReply): string | undefined {
  return reply.json<{ error?: { code: string } }>().error?.code;
}

describe('admin deployment routes (real daemon)', () => {
  let daemon: TestDaemon;
  let blue: Upstream;
  let green: Upstream;
  let hanging: Upstream;

  before(async () => {
    [blue, green, hanging] = await Promise.all([
      startUpstream({ name: 'shop-v1' }),
      startUpstream({ name: 'shop-v2' }),
      startUpstream({ name: 'shop-v3' }),
    ]);
    daemon = await startTestDaemon();
  });

  after(async () => {
    await daemon.stop();
    await Promise.all([blue.close(), green.close(), hanging.close()]);
  });

  function start(release: string, instance: string, config: string): Promise<AdminReply> {
    return daemon.admin('POST', '/v1/apps/shop/deployments', {
      body: { release, dir: '/srv/shop/' + release, config, instances: [instance] },
    });
  }

  async function ended(id: string): Promise<DeploymentView> {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
      assert.equal(reply.status, 200, reply.body);
      const view = reply.json<DeploymentView>();
      if (view.ended) return view;
      await delay(POLL_MS);
    }
    throw new Error(`deployment ${id} did not end within ${WAIT_MS} ms`);
  }

  async function audits(): Promise<Record<string, unknown>[]> {
    const reply = await daemon.admin('GET', '/v1/history?limit=1000');
    return reply
      .json<HistoryResponse>()
      .events.filter((event) => event.type === 'audit')
      .map((event) => ({ ...event.data, app: event.app }));
  }

  it('starts two deployments with 202, follows them to live, and lists them', async () => {
    for (const [release, upstream] of [
      ['v1', blue],
      ['v2', green],
    ] as const) {
      const reply = await start(release, upstream.address, configText('/', '10s'));
      assert.equal(reply.status, 202, reply.body);
      const view = reply.json<DeploymentView>();
      assert.match(view.id, /^[a-z0-9-]{1,64}$/);
      assert.equal(view.release, release);
      const done = await ended(view.id);
      assert.equal(done.outcome, 'succeeded', done.reason ?? '');
      const routed = await daemon.get('public', '/');
      assert.equal(routed.body, `shop-${release}`);
    }
    const list = await daemon.admin('GET', '/v1/deployments?app=shop&limit=5');
    assert.equal(list.status, 200);
    const releases = list
      .json<{ deployments: DeploymentView[] }>()
      .deployments.map((d) => d.release);
    assert.deepEqual(releases, ['v2', 'v1']);
  });

  // Before the abort test: its deployment takes the standby color, so no standby is left.
  it('runs a drill: back to the standby and forward again, both flips counted', async () => {
    const reply = await daemon.admin('POST', '/v1/apps/shop/drill', {
      body: { objectiveMs: 5000 },
      timeoutMs: 60_000,
    });
    assert.equal(reply.status, 200, reply.body);
    const report = reply.json<DrillReport>();
    assert.equal(report.app, 'shop');
    assert.equal(report.objectiveMs, 5000);
    assert.equal(report.back.flip.to, report.standby);
    assert.equal(report.passed, true, report.reason ?? '');
    assert.equal((await daemon.get('public', '/')).body, 'shop-v2');
    const metrics = await daemon.admin('GET', '/metrics');
    assert.match(metrics.body, /cutover_flips_total\{app="shop",kind="drill"\} 2/);
  });
  it('aborts a running deployment by id; live traffic stays on the old color', async () => {
    // The instance never passes its health check, so the deployment waits in `starting`.
    const reply = await start('v3', hanging.address, configText('/status?code=500', '60s'));
    assert.equal(reply.status, 202, reply.body);
    const { id } = reply.json<DeploymentView>();
    const second = await start('v3', hanging.address, configText('/', '10s'));
    assert.equal(second.status, 409, second.body);
    assert.equal(errorCode(second), 'CUTOVER_ERR_APP_LOCKED');

    const abort = await daemon.admin('POST', `/v1/deployments/${id}/abort`, {
      body: { reason: 'wrong build' },
      headers: { 'content-type': 'application/json', 'x-cutover-actor': 'alice' },
    });
    assert.equal(abort.status, 200, abort.body);
    const done = await ended(id);
    assert.equal(done.outcome, 'aborted');
    assert.match(done.reason ?? '', /wrong build/);
    assert.equal((await daemon.get('public', '/')).body, 'shop-v2');

    const audit = (await audits()).find(
      (entry) => entry.route === `POST /v1/deployments/${id}/abort`,
    );
    assert.deepEqual(
      { app: audit?.app, actor: audit?.actor, status: audit?.status, outcome: audit?.outcome },
      { app: 'shop', actor: 'unix:alice', status: 200, outcome: 'ok' },
    );
  });

  it('answers 404 for unknown deployments and when no deployment runs, and audits both', async () => {
    const read = await daemon.admin('GET', '/v1/deployments/d-00000000');
    assert.equal(read.status, 404);
    assert.equal(errorCode(read), 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
    const abortId = await daemon.admin('POST', '/v1/deployments/d-00000000/abort', { body: {} });
    assert.equal(abortId.status, 404);
    const abortApp = await daemon.admin('POST', '/v1/apps/shop/abort', { body: {} });
    assert.equal(abortApp.status, 404);
    assert.equal(errorCode(abortApp), 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
    const bad = await daemon.admin('GET', '/v1/deployments/NOT_AN_ID');
    assert.equal(bad.status, 400);

    const lines = await audits();
    const byRoute = (route: string) => lines.find((entry) => entry.route === route);
    assert.equal(byRoute('POST /v1/deployments/d-00000000/abort')?.status, 404);
    assert.equal(byRoute('POST /v1/apps/shop/abort')?.outcome, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
  });

  it('refuses a bad start body with 400 naming the field, and stores nothing', async () => {
    const before = await daemon.admin('GET', '/v1/deployments');
    const reply = await daemon.admin('POST', '/v1/apps/shop/deployments', {
      body: { release: 'v9', dir: 'relative/dir', config: configText('/', '10s') },
    });
    assert.equal(reply.status, 400);
    assert.match(reply.body, /dir: must be an absolute path/);
    const afterwards = await daemon.admin('GET', '/v1/deployments');
    assert.equal(afterwards.body, before.body);
  });
});
