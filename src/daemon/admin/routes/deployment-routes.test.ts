import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type {
  AbortRequest,
  DeploymentView,
  DrillRequest,
  StartDeploymentRequest,
} from '../../../client/api-types.ts';
import { CutoverError } from '../../../core/errors.ts';
import {
  ADMIN_FIXTURE_TOKEN,
  adminCall,
  sampleDeploymentView,
  sampleDrillReport,
  startAdminFixture,
  type AdminFixture,
} from '../../../../test/helpers/admin-fixture.ts';
import type { AdminController, MutationOptions } from '../admin-context.ts';

interface Call {
  readonly method: string;
  readonly args: readonly unknown[];
  readonly opts?: MutationOptions;
}

/** A controller that records its calls; deployments it knows by id, the rest are not found. */
function fakeController() {
  const calls: Call[] = [];
  const known = new Map<string, DeploymentView>([
    ['d-1', sampleDeploymentView({ id: 'd-1', app: 'shop' })],
  ]);
  let failWith: Error | null = null;
  const notFound = (what: string) =>
    new CutoverError('CUTOVER_ERR_DEPLOY_NOT_FOUND', `No deployment ${what}.`);
  function answer<T>(call: Call, result: () => T): Promise<T> {
    calls.push(call);
    if (failWith !== null) return Promise.reject(failWith);
    try {
      return Promise.resolve(result());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  const byId = (id: string): DeploymentView => {
    const view = known.get(id);
    if (view === undefined) throw notFound(`has the id ${id}`);
    return view;
  };
  const unused = (method: string) => () =>
    Promise.reject(new Error(`${method} is not part of the deployment routes`));
  const controller: AdminController = {
    revision: 7,
    status: unused('status'),
    deploy: unused('deploy'),
    flip: unused('flip'),
    rollback: unused('rollback'),
    history: unused('history'),
    startDeployment: (app: string, req: StartDeploymentRequest, opts: MutationOptions) =>
      answer({ method: 'startDeployment', args: [app, req], opts }, () =>
        sampleDeploymentView({ id: 'd-2', app, release: req.release, requestedBy: opts.actor }),
      ),
    getDeployment: (id: string) => answer({ method: 'getDeployment', args: [id] }, () => byId(id)),
    listDeployments: (query) =>
      answer({ method: 'listDeployments', args: [query] }, () => ({
        deployments: [...known.values()].filter(
          (view) => query.app === undefined || view.app === query.app,
        ),
      })),
    abortDeployment: (id: string, req: AbortRequest, opts: MutationOptions) =>
      answer({ method: 'abortDeployment', args: [id, req], opts }, () => ({
        ...byId(id),
        reason: req.reason ?? 'aborted',
      })),
    abortApp: (app: string, req: AbortRequest, opts: MutationOptions) =>
      answer({ method: 'abortApp', args: [app, req], opts }, () => {
        const running = [...known.values()].find((view) => view.app === app);
        if (running === undefined) throw notFound(`runs for ${app}`);
        return { ...running, reason: req.reason ?? 'aborted' };
      }),
    drill: (app: string, req: DrillRequest, opts: MutationOptions) =>
      answer({ method: 'drill', args: [app, req], opts }, () =>
        sampleDrillReport(app, req.objectiveMs ?? 60_000),
      ),
    migrationsPlan: unused('migrationsPlan'),
    migrationsStatus: unused('migrationsStatus'),
    migrationsContract: unused('migrationsContract'),
  };
  return {
    controller,
    calls,
    fail(error: Error | null) {
      failWith = error;
    },
  };
}

const json = { 'content-type': 'application/json' };
const startBody: StartDeploymentRequest = {
  release: 'v2',
  dir: '/srv/shop/releases/v2',
  config: 'app: shop\nstart: node server.js\ninstances: 2\n',
  configPath: '/srv/shop/releases/v2/cutover.yaml',
};

describe('deployment routes', () => {
  const fake = fakeController();
  let fixture: AdminFixture;

  before(async () => {
    fixture = await startAdminFixture(fake.controller);
  });

  after(async () => {
    await fixture.close();
  });

  beforeEach(() => {
    fake.calls.length = 0;
    fixture.audits.length = 0;
    fake.fail(null);
  });

  function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    return adminCall(fixture.unix, 'POST', path, { ...json, ...headers }, JSON.stringify(body));
  }

  it('starts a deployment with 202 and the view, passing the actor and If-Match', async () => {
    const reply = await post('/v1/apps/shop/deployments', startBody, {
      'if-match': '"7"',
      'x-cutover-actor': 'alice',
    });
    assert.equal(reply.status, 202, reply.body);
    const view = reply.json<DeploymentView>();
    assert.equal(view.id, 'd-2');
    assert.equal(view.release, 'v2');
    assert.deepEqual(fake.calls, [
      {
        method: 'startDeployment',
        args: ['shop', startBody],
        opts: { actor: 'unix:alice', ifMatch: 7 },
      },
    ]);
    assert.deepEqual(
      fixture.audits.map(({ app, actor, route, status, outcome }) => ({
        app,
        actor,
        route,
        status,
        outcome,
      })),
      [
        {
          app: 'shop',
          actor: 'unix:alice',
          route: 'POST /v1/apps/shop/deployments',
          status: 202,
          outcome: 'ok',
        },
      ],
    );
  });

  it('accepts the instances of an external runtime as host:port', async () => {
    const body = { ...startBody, instances: ['127.0.0.1:3001', '[::1]:3002'] };
    const reply = await post('/v1/apps/shop/deployments', body);
    assert.equal(reply.status, 202, reply.body);
    assert.deepEqual(fake.calls[0]?.args[1], body);
  });

  it('accepts a 64 KiB cutover.yaml even when JSON escapes double it', async () => {
    // Every newline becomes `\n` in JSON: 128 KiB on the wire, above the old 64 KiB body limit.
    const config = '\n'.repeat(64 * 1024);
    const reply = await post('/v1/apps/shop/deployments', { ...startBody, config });
    assert.equal(reply.status, 202, reply.body);
    const tooBig = await post('/v1/apps/shop/deployments', { ...startBody, config: `${config}a` });
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.json().error?.message ?? '', /config: .*at most 65536 bytes/);
  });

  it('refuses bad start bodies with 400 naming the field, before the controller', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...startBody, release: '' }, /release: Invalid release id/],
      [{ ...startBody, release: '../v2' }, /release: Invalid release id "..\/v2"/],
      [{ ...startBody, dir: 'releases/v2' }, /dir: must be an absolute path/],
      [{ ...startBody, dir: undefined }, /dir: /],
      [{ ...startBody, config: 42 }, /config: /],
      [{ ...startBody, configPath: '' }, /configPath: /],
      [{ ...startBody, instances: ['http://127.0.0.1:3000'] }, /instances\.0: Invalid instance/],
      [{ ...startBody, instances: ['127.0.0.1'] }, /instances\.0: .*no port/],
      [{ ...startBody, instances: [] }, /instances: /],
      [{ ...startBody, strategy: 'blue-green' }, /strategy/],
      [{ ...startBody, acceptDrift: 'env.X' }, /acceptDrift/],
      [{ ...startBody, speed: 'fast' }, /unknown field "speed", remove it/],
      [[startBody], /body: /],
    ];
    for (const [body, message] of cases) {
      const reply = await post('/v1/apps/shop/deployments', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_USAGE');
      assert.match(reply.json().error?.message ?? '', message);
    }
    assert.equal(fake.calls.length, 0);
    // Refusals are audited too (D5).
    assert.equal(fixture.audits.length, cases.length);
    assert.ok(fixture.audits.every((entry) => entry.outcome === 'CUTOVER_ERR_USAGE'));
  });

  it('refuses an invalid app name in the path with 400', async () => {
    for (const path of ['/v1/apps/Shop/deployments', '/v1/apps/a_b/abort', '/v1/apps/-x/drill']) {
      const reply = await post(path, path.endsWith('deployments') ? startBody : {});
      assert.equal(reply.status, 400, path);
      assert.match(reply.json().error?.message ?? '', /Invalid app name/);
    }
    assert.equal(fake.calls.length, 0);
  });

  it('refuses a mutation that is not JSON with 415, and a stale If-Match with 412', async () => {
    for (const path of [
      '/v1/apps/shop/deployments',
      '/v1/apps/shop/drill',
      '/v1/apps/shop/abort',
    ]) {
      const reply = await adminCall(fixture.unix, 'POST', path, { 'content-type': 'text/plain' });
      assert.equal(reply.status, 415, path);
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_ADMIN_UNSUPPORTED_MEDIA');
    }
    const aborted = await adminCall(fixture.unix, 'POST', '/v1/deployments/d-1/abort', {}, '{}');
    assert.equal(aborted.status, 415);
    assert.equal(fake.calls.length, 0);
    assert.equal(fixture.audits.length, 4);

    fake.fail(new CutoverError('CUTOVER_ERR_STATE_CONFLICT', 'The state changed: revision 8.'));
    const stale = await post('/v1/apps/shop/deployments', startBody, { 'if-match': '"6"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.json().error?.code, 'CUTOVER_ERR_STATE_CONFLICT');
    assert.equal(fake.calls[0]?.opts?.ifMatch, 6);
    assert.equal(fixture.audits.at(-1)?.outcome, 'CUTOVER_ERR_STATE_CONFLICT');
    assert.equal(fixture.audits.at(-1)?.status, 412);
  });

  it('answers 409 naming the holder when the app is locked', async () => {
    fake.fail(
      new CutoverError('CUTOVER_ERR_APP_LOCKED', 'shop is locked by deployment d-1 (unix:bob).'),
    );
    const reply = await post('/v1/apps/shop/deployments', startBody);
    assert.equal(reply.status, 409);
    assert.match(reply.json().error?.message ?? '', /d-1/);
  });

  it('reads one deployment, and 404 for an unknown id', async () => {
    const found = await adminCall(fixture.unix, 'GET', '/v1/deployments/d-1');
    assert.equal(found.status, 200);
    assert.equal(found.json<DeploymentView>().app, 'shop');
    const missing = await adminCall(fixture.unix, 'GET', '/v1/deployments/d-404');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error?.code, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
    // Reads are never audited.
    assert.deepEqual(fixture.audits, []);
  });

  it('refuses a malformed deployment id with 400 before the controller', async () => {
    for (const id of ['D-1', 'd_1', 'x'.repeat(65), '%20', 'd%2F1']) {
      const reply = await adminCall(fixture.unix, 'GET', `/v1/deployments/${id}`);
      assert.equal(reply.status, 400, id);
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_USAGE');
      assert.match(reply.json().error?.message ?? '', /Invalid deployment id/);
      const abort = await post(`/v1/deployments/${id}/abort`, {});
      assert.equal(abort.status, 400, id);
    }
    assert.equal(fake.calls.length, 0);
  });

  it('lists deployments with the app and limit passed on', async () => {
    const all = await adminCall(fixture.unix, 'GET', '/v1/deployments');
    assert.equal(all.status, 200);
    assert.equal(all.json<{ deployments: DeploymentView[] }>().deployments.length, 1);
    const some = await adminCall(fixture.unix, 'GET', '/v1/deployments?app=shop&limit=5');
    assert.equal(some.status, 200);
    assert.deepEqual(
      fake.calls.map((call) => call.args[0]),
      [{}, { app: 'shop', limit: 5 }],
    );
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'app=Bad_Name']) {
      const bad = await adminCall(fixture.unix, 'GET', `/v1/deployments?${query}`);
      assert.equal(bad.status, 400, query);
    }
    assert.equal(fake.calls.length, 2);
  });

  it('aborts by id and audits the abort under the deployment app', async () => {
    const reply = await post('/v1/deployments/d-1/abort', { reason: 'wrong build' });
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json<DeploymentView>().reason, 'wrong build');
    const abort = fake.calls.find((call) => call.method === 'abortDeployment');
    assert.deepEqual(abort?.args, ['d-1', { reason: 'wrong build' }]);
    assert.match(abort?.opts?.actor ?? '', /^unix:/);
    assert.equal(abort?.opts?.actor, fixture.audits[0]?.actor);
    assert.equal(fixture.audits.length, 1);
    assert.equal(fixture.audits[0]?.app, 'shop');
    assert.equal(fixture.audits[0]?.route, 'POST /v1/deployments/d-1/abort');
    assert.equal(fixture.audits[0]?.outcome, 'ok');
  });

  it('answers 404 for an abort of an unknown id, and still audits it', async () => {
    const reply = await post('/v1/deployments/d-404/abort', {});
    assert.equal(reply.status, 404);
    assert.equal(reply.json().error?.code, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
    assert.equal(fake.calls.filter((call) => call.method === 'abortDeployment').length, 0);
    assert.equal(fixture.audits.length, 1);
    assert.equal(fixture.audits[0]?.app, '');
    assert.equal(fixture.audits[0]?.route, 'POST /v1/deployments/d-404/abort');
    assert.equal(fixture.audits[0]?.outcome, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
  });

  it("aborts the app's running deployment with an empty body, 404 when none runs", async () => {
    const empty = await adminCall(fixture.unix, 'POST', '/v1/apps/shop/abort', json);
    assert.equal(empty.status, 200, empty.body);
    assert.deepEqual(fake.calls[0]?.args, ['shop', {}]);
    const none = await post('/v1/apps/blog/abort', {});
    assert.equal(none.status, 404);
    assert.equal(none.json().error?.code, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
    assert.deepEqual(
      fixture.audits.map((entry) => [entry.app, entry.status]),
      [
        ['shop', 200],
        ['blog', 404],
      ],
    );
  });

  it('validates abort bodies: reason is a string up to 500 characters, nothing else', async () => {
    const cases: [unknown, RegExp][] = [
      [{ reason: 'x'.repeat(501) }, /reason: /],
      [{ reason: 5 }, /reason: /],
      [{ why: 'x' }, /unknown field "why"/],
    ];
    for (const [body, message] of cases) {
      for (const path of ['/v1/apps/shop/abort', '/v1/deployments/d-1/abort']) {
        const reply = await post(path, body);
        assert.equal(reply.status, 400, `${path} ${JSON.stringify(body)}`);
        assert.match(reply.json().error?.message ?? '', message);
      }
    }
    assert.equal((await post('/v1/apps/shop/abort', { reason: 'x'.repeat(500) })).status, 200);
    assert.ok(fake.calls.every((call) => call.method !== 'abortDeployment'));
  });

  it('runs a drill, counts both of its flips, and validates objectiveMs', async () => {
    const reply = await post('/v1/apps/shop/drill', { objectiveMs: 500 });
    assert.equal(reply.status, 200, reply.body);
    const report = reply.json<{ objectiveMs: number; passed: boolean }>();
    assert.equal(report.objectiveMs, 500);
    assert.equal(report.passed, true);
    assert.deepEqual(fake.calls[0]?.args, ['shop', { objectiveMs: 500 }]);
    assert.equal(fixture.audits[0]?.route, 'POST /v1/apps/shop/drill');
    const metrics = await adminCall(fixture.unix, 'GET', '/metrics');
    assert.match(metrics.body, /cutover_flips_total\{app="shop",kind="drill"\} 2/);

    for (const objectiveMs of [0, -1, 1.5, 86_400_001, '500']) {
      const bad = await post('/v1/apps/shop/drill', { objectiveMs });
      assert.equal(bad.status, 400, String(objectiveMs));
      assert.match(bad.json().error?.message ?? '', /objectiveMs: /);
    }
    assert.equal((await post('/v1/apps/shop/drill', { objectiveMs: 86_400_000 })).status, 200);
    assert.equal(fake.calls.length, 2);
  });

  it('passes a failed drill through as its error', async () => {
    fake.fail(new CutoverError('CUTOVER_ERR_DRILL_FAILED', 'The standby failed its probes.'));
    const reply = await post('/v1/apps/shop/drill', {});
    assert.equal(reply.status, 409);
    assert.equal(reply.json().error?.code, 'CUTOVER_ERR_DRILL_FAILED');
    assert.equal(fixture.audits[0]?.outcome, 'CUTOVER_ERR_DRILL_FAILED');
  });

  it('needs the token on TCP and answers GET to a mutation path with 404', async () => {
    const tcp = await adminCall(fixture.tcp, 'GET', '/v1/deployments');
    assert.equal(tcp.status, 401);
    const authed = await adminCall(fixture.tcp, 'GET', '/v1/deployments', {
      authorization: `Bearer ${ADMIN_FIXTURE_TOKEN}`,
    });
    assert.equal(authed.status, 200);
    const get = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/drill');
    assert.equal(get.status, 404);
    assert.equal(fake.calls.filter((call) => call.method === 'drill').length, 0);
  });
});
