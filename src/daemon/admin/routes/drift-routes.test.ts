// GET /v1/apps/:app/drift against a stand-in controller on the real admin socket.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { DriftResponse } from '../../../client/api-types.ts';
import { CutoverError } from '../../../core/errors.ts';
import {
  adminCall,
  startAdminFixture,
  type AdminFixture,
} from '../../../../test/helpers/admin-fixture.ts';
import type { AdminController } from '../admin-context.ts';

const REPORT: DriftResponse = {
  app: 'shop',
  live: { release: 'v2', color: 'green', takenAt: '2026-11-26T12:00:00.000Z' },
  colors: null,
  inPlace: {
    from: { release: 'v2', color: 'green', takenAt: '2026-11-26T11:00:00.000Z' },
    to: { release: 'v2', color: 'green', takenAt: '2026-11-26T12:00:00.000Z' },
    differences: [
      {
        key: 'files.config/app.json',
        change: 'changed',
        from: 'sha256:aa',
        to: 'sha256:bb',
        secret: { from: false, to: false },
        expected: null,
      },
    ],
    drift: 1,
  },
  drift: true,
  notes: ['blue holds no release: nothing to compare the live color with'],
};

function fakeController(withDrift: boolean) {
  const calls: string[] = [];
  let failWith: Error | null = null;
  const unused = (method: string) => () =>
    Promise.reject(new Error(`${method} is not part of the drift route`));
  const controller: AdminController = {
    revision: 3,
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
    migrationsPlan: unused('migrationsPlan'),
    migrationsStatus: unused('migrationsStatus'),
    migrationsContract: unused('migrationsContract'),
    ...(withDrift
      ? {
          drift: (app: string) => {
            calls.push(app);
            return failWith === null ? Promise.resolve(REPORT) : Promise.reject(failWith);
          },
        }
      : {}),
  };
  return {
    controller,
    calls,
    fail(error: Error | null) {
      failWith = error;
    },
  };
}

describe('drift route', () => {
  const fake = fakeController(true);
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

  it("answers the controller's report for the app, unaudited (a read)", async () => {
    const reply = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/drift');
    assert.equal(reply.status, 200, reply.body);
    assert.deepEqual(reply.json<DriftResponse>(), REPORT);
    assert.deepEqual(fake.calls, ['shop']);
    assert.equal(fixture.audits.length, 0);
  });

  it('an unknown app is 404 with its code; a bad app name is 400 before the controller', async () => {
    fake.fail(new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', 'No app named "nope".'));
    const missing = await adminCall(fixture.unix, 'GET', '/v1/apps/nope/drift');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error?.code, 'CUTOVER_ERR_APP_NOT_FOUND');
    fake.calls.length = 0;
    const bad = await adminCall(fixture.unix, 'GET', '/v1/apps/Bad_Name/drift');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error?.code, 'CUTOVER_ERR_USAGE');
    assert.deepEqual(fake.calls, []);
  });

  it('POST is not a route: nothing is changed by asking for drift', async () => {
    const reply = await adminCall(
      fixture.unix,
      'POST',
      '/v1/apps/shop/drift',
      { 'content-type': 'application/json' },
      '{}',
    );
    assert.ok(reply.status === 404 || reply.status === 405, String(reply.status));
    assert.deepEqual(fake.calls, []);
  });
});

describe('drift route without a drift service', () => {
  it('answers 500 CUTOVER_ERR_INTERNAL naming what is missing', async () => {
    const fixture = await startAdminFixture(fakeController(false).controller);
    try {
      const reply = await adminCall(fixture.unix, 'GET', '/v1/apps/shop/drift');
      assert.equal(reply.status, 500);
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_INTERNAL');
      assert.match(reply.json().error?.message ?? '', /does not snapshot config/);
    } finally {
      await fixture.close();
    }
  });
});
