import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
} from '../../../client/api-types.ts';
import { CutoverError } from '../../../core/errors.ts';
import {
  adminCall,
  sampleMigrationsContract,
  sampleMigrationsPlan,
  startAdminFixture,
  type AdminFixture,
} from '../../../../test/helpers/admin-fixture.ts';
import type { AdminController, MutationOptions } from '../admin-context.ts';

interface Call {
  readonly method: string;
  readonly args: readonly unknown[];
  readonly opts?: MutationOptions;
}

/** A controller that records its migrations calls; everything else is not part of these routes. */
function fakeController() {
  const calls: Call[] = [];
  let failWith: Error | null = null;
  function answer<T>(call: Call, result: T): Promise<T> {
    calls.push(call);
    return failWith === null ? Promise.resolve(result) : Promise.reject(failWith);
  }
  const unused = (method: string) => () =>
    Promise.reject(new Error(`${method} is not part of the migration routes`));
  const controller: AdminController = {
    revision: 7,
    status: unused('status'),
    deploy: unused('deploy'),
    flip: unused('flip'),
    rollback: unused('rollback'),
    history: unused('history'),
    startDeployment: unused('startDeployment'),
    getDeployment: unused('getDeployment'),
    listDeployments: unused('listDeployments'),
    abortDeployment: unused('abortDeployment'),
    abortApp: unused('abortApp'),
    drill: unused('drill'),
    migrationsPlan: (app: string, req: MigrationsPlanRequest) =>
      answer(
        { method: 'migrationsPlan', args: [app, req] },
        sampleMigrationsPlan({ app, release: req.release }),
      ),
    migrationsStatus: (app: string) =>
      answer(
        { method: 'migrationsStatus', args: [app] },
        sampleMigrationsPlan({ app, release: 'v1', pending: [] }),
      ),
    migrationsContract: (app: string, opts: MutationOptions) =>
      answer(
        { method: 'migrationsContract', args: [app], opts },
        sampleMigrationsContract({ app }),
      ),
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
const planBody: MigrationsPlanRequest = {
  release: 'v2',
  dir: '/srv/shop/releases/v2',
  config: 'app: shop\nstart: node server.js\n',
  configPath: '/srv/shop/releases/v2/cutover.yaml',
};

describe('migration routes', () => {
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

  it('plans a release: 200 with the plan, the body passed on as sent', async () => {
    const reply = await post('/v1/apps/shop/migrations/plan', planBody);
    assert.equal(reply.status, 200, reply.body);
    const plan = reply.json<MigrationsPlanResponse>();
    assert.equal(plan.release, 'v2');
    assert.deepEqual(plan.pending, ['0002_add_order_note.sql']);
    assert.deepEqual(fake.calls, [{ method: 'migrationsPlan', args: ['shop', planBody] }]);
    const { configPath: _, ...withoutPath } = planBody;
    assert.equal((await post('/v1/apps/shop/migrations/plan', withoutPath)).status, 200);
  });

  it('refuses bad plan bodies with 400 naming the field, before the controller', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...planBody, release: '' }, /release: Invalid release id/],
      [{ ...planBody, release: '../v2' }, /release: Invalid release id/],
      [{ ...planBody, dir: 'releases/v2' }, /dir: must be an absolute path/],
      [{ ...planBody, dir: undefined }, /dir: is required/],
      [{ ...planBody, config: 42 }, /config: /],
      [{ ...planBody, config: 'x'.repeat(64 * 1024 + 1) }, /config: .*at most 65536 bytes/],
      [{ ...planBody, configPath: '' }, /configPath: /],
      [{ ...planBody, instances: ['127.0.0.1:3000'] }, /unknown field "instances", remove it/],
      [[planBody], /body: /],
    ];
    for (const [body, message] of cases) {
      const reply = await post('/v1/apps/shop/migrations/plan', body);
      assert.equal(reply.status, 400, JSON.stringify(body).slice(0, 200));
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_USAGE');
      assert.match(reply.json().error?.message ?? '', message);
      assert.match(reply.json().error?.message ?? '', /^Invalid migrations plan request: /);
    }
    assert.equal(fake.calls.length, 0);
    const bigButFine = { ...planBody, config: 'x'.repeat(64 * 1024) };
    assert.equal((await post('/v1/apps/shop/migrations/plan', bigButFine)).status, 200);
  });

  it("reads the live release's migrations with GET, never audited", async () => {
    const reply = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/migrations');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json<MigrationsPlanResponse>().applied[0]?.name, '0001_init.sql');
    assert.deepEqual(fake.calls, [{ method: 'migrationsStatus', args: ['shop'] }]);
    assert.deepEqual(fixture.audits, []);
  });

  it('passes a status error through with its status code', async () => {
    fake.fail(new CutoverError('CUTOVER_ERR_DEPLOY_NOT_FOUND', 'App "shop" has no live release.'));
    const reply = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/migrations');
    assert.equal(reply.status, 404);
    assert.equal(reply.json().error?.code, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
  });

  it('runs the contract with the actor and If-Match, and audits it', async () => {
    const reply = await post(
      '/v1/apps/shop/migrations/contract',
      {},
      { 'if-match': '"7"', 'x-cutover-actor': 'alice' },
    );
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(reply.json<MigrationsContractResponse>().applied, [
      '0003_drop_legacy_total.sql',
    ]);
    assert.deepEqual(fake.calls, [
      {
        method: 'migrationsContract',
        args: ['shop'],
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
          route: 'POST /v1/apps/shop/migrations/contract',
          status: 200,
          outcome: 'ok',
        },
      ],
    );
    // An empty body is `{}`.
    const empty = await adminCall(fixture.unix, 'POST', '/v1/apps/shop/migrations/contract', json);
    assert.equal(empty.status, 200, empty.body);
  });

  it('refuses a contract while a standby exists with 409, audited with its code', async () => {
    fake.fail(
      new CutoverError(
        'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE',
        'App "shop" still has a standby (v1 on blue) that may use the old schema.',
      ),
    );
    const reply = await post('/v1/apps/shop/migrations/contract', {});
    assert.equal(reply.status, 409);
    assert.equal(reply.json().error?.code, 'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE');
    assert.match(reply.json().error?.message ?? '', /v1 on blue/);
    assert.equal(fixture.audits.length, 1);
    assert.equal(fixture.audits[0]?.status, 409);
    assert.equal(fixture.audits[0]?.outcome, 'CUTOVER_ERR_MIGRATION_STANDBY_ALIVE');
  });

  it('refuses a contract body with fields, non-JSON (415) and a stale If-Match (412)', async () => {
    const fields = await post('/v1/apps/shop/migrations/contract', { force: true });
    assert.equal(fields.status, 400);
    assert.match(fields.json().error?.message ?? '', /unknown field "force", remove it/);
    for (const path of ['/v1/apps/shop/migrations/contract', '/v1/apps/shop/migrations/plan']) {
      const reply = await adminCall(fixture.unix, 'POST', path, { 'content-type': 'text/plain' });
      assert.equal(reply.status, 415, path);
    }
    const badIfMatch = await post('/v1/apps/shop/migrations/contract', {}, { 'if-match': 'x' });
    assert.equal(badIfMatch.status, 400);
    assert.equal(fake.calls.length, 0);
    assert.equal(fixture.audits.length, 4);

    fake.fail(new CutoverError('CUTOVER_ERR_STATE_CONFLICT', 'The state changed: revision 8.'));
    const stale = await post('/v1/apps/shop/migrations/contract', {}, { 'if-match': '"6"' });
    assert.equal(stale.status, 412);
    assert.equal(fake.calls[0]?.opts?.ifMatch, 6);
    assert.equal(fixture.audits.at(-1)?.outcome, 'CUTOVER_ERR_STATE_CONFLICT');
  });

  it('refuses an invalid app name with 400, and GET of a POST route with 404', async () => {
    for (const path of ['/v1/apps/Shop/migrations/plan', '/v1/apps/a_b/migrations/contract']) {
      const reply = await post(path, planBody);
      assert.equal(reply.status, 400, path);
      assert.match(reply.json().error?.message ?? '', /Invalid app name/);
    }
    const get = await adminCall(fixture.unix, 'GET', '/v1/apps/-x/migrations');
    assert.equal(get.status, 400);
    const wrongMethod = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/migrations/contract');
    assert.equal(wrongMethod.status, 404);
    assert.equal(fake.calls.length, 0);
  });
});
