import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assertHostsFree,
  emptyApp,
  flipApp,
  flipTargetOf,
  normalizeHosts,
  parseAddress,
  placeRelease,
  resolveHealthSpec,
  roleOf,
  rollbackTargetOf,
  validateAddresses,
  validateAppName,
  validateReleaseId,
  withFlipDuration,
} from './app-state.ts';
import { isCutoverError } from './errors.ts';
import type { AppState, Color, Release } from './types.ts';
import { COLORS, DEFAULT_HEALTH_CHECK, FLIP_HISTORY_LIMIT } from './types.ts';
import { idleColorOf } from './routing-table.ts';

function release(id: string): Release {
  return {
    id,
    instances: [{ id: `shop-${id}-1`, address: '127.0.0.1:3000' }],
    health: DEFAULT_HEALTH_CHECK,
    placedAt: '2026-01-01T00:00:00.000Z',
  };
}

function code(expected: string): (error: unknown) => boolean {
  return (error) => isCutoverError(error) && error.code === expected;
}

void describe('input validation', () => {
  void it('parses host:port, IPv6 in brackets, and names what is wrong', () => {
    assert.deepEqual(parseAddress('127.0.0.1:3000'), { host: '127.0.0.1', port: 3000 });
    assert.deepEqual(parseAddress('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseAddress('app.internal:1'), { host: 'app.internal', port: 1 });
    for (const [bad, why] of [
      ['localhost', /no port/],
      ['localhost:0', /port "0"/],
      ['localhost:70000', /port "70000"/],
      ['::1:80', /needs brackets/],
      ['[::1:80', /port|unclosed/],
      ['http://x:80', /without a scheme/],
      ['x_y:80', /not a host name/],
      [':80', /no port/],
    ] as const) {
      assert.throws(
        () => parseAddress(bad),
        (error: unknown) => {
          assert.ok(code('CUTOVER_ERR_USAGE')(error));
          assert.ok((error as Error).message.includes(`"${bad}"`));
          assert.match((error as Error).message, why);
          return true;
        },
      );
    }
  });

  void it('needs at least one address and no duplicates', () => {
    assert.deepEqual(validateAddresses(['127.0.0.1:1', '127.0.0.1:2']), [
      '127.0.0.1:1',
      '127.0.0.1:2',
    ]);
    assert.throws(() => validateAddresses([]), /at least one/);
    assert.throws(() => validateAddresses(['127.0.0.1:1', '127.0.0.1:1']), /listed twice/);
  });

  void it('checks app names, release ids and hosts', () => {
    validateAppName('shop-2');
    validateReleaseId('v42.1+build_7');
    assert.throws(() => validateAppName('Shop'), /Invalid app name "Shop"/);
    assert.throws(() => validateAppName('__proto__'), code('CUTOVER_ERR_USAGE'));
    assert.throws(() => validateReleaseId(''), /Invalid release id/);
    assert.throws(() => validateReleaseId('v1 beta'), /Invalid release id "v1 beta"/);
    assert.deepEqual(normalizeHosts(['Shop.Example.com', 'shop.example.com']), [
      'shop.example.com',
    ]);
    assert.throws(
      () => normalizeHosts(['shop.example.com:8080']),
      /Invalid host "shop.example.com:8080"/,
    );
  });

  void it('fills the health spec from defaults and names a bad field', () => {
    assert.deepEqual(resolveHealthSpec({ path: '/healthz', rise: 1 }), {
      ...DEFAULT_HEALTH_CHECK,
      path: '/healthz',
      rise: 1,
    });
    assert.throws(() => resolveHealthSpec({ rise: 0 }), /health\.rise/);
    assert.throws(() => resolveHealthSpec({ timeoutMs: 1.5 }), /health\.timeoutMs/);
    assert.throws(() => resolveHealthSpec({ path: 'healthz' }), /health\.path/);
  });

  void it('refuses a host claimed by another app and a second catch-all', () => {
    const apps = {
      shop: emptyApp('shop', ['shop.example.com']),
      blog: emptyApp('blog', []),
    };
    assertHostsFree(apps, 'shop', ['shop.example.com']);
    assertHostsFree(apps, 'wiki', ['wiki.example.com']);
    assert.throws(
      () => assertHostsFree(apps, 'wiki', ['shop.example.com']),
      (error: unknown) =>
        code('CUTOVER_ERR_APP_HOSTS_CONFLICT')(error) && /"shop"/.test((error as Error).message),
    );
    assert.throws(() => assertHostsFree(apps, 'wiki', []), /catch-all/);
  });
});

void describe('transitions', () => {
  void it('first deploy goes to blue, a flip makes the old live color the standby', () => {
    let app = emptyApp('shop', []);
    assert.equal(idleColorOf(app), 'blue');
    app = placeRelease(app, 'blue', release('v1'));
    app = flipApp(app, { to: 'blue', kind: 'deploy', generation: 2, at: 't', durationMs: 0 });
    assert.equal(app.live, 'blue');
    assert.equal(app.standby, null);
    assert.throws(() => rollbackTargetOf(app), code('CUTOVER_ERR_ROLLBACK_NO_STANDBY'));
    app = placeRelease(app, idleColorOf(app), release('v2'));
    app = flipApp(app, { to: 'green', kind: 'deploy', generation: 4, at: 't', durationMs: 0 });
    assert.equal(app.live, 'green');
    assert.equal(app.standby, 'blue');
    assert.equal(rollbackTargetOf(app), 'blue');
    assert.equal(roleOf(app, 'blue'), 'standby');
    app = withFlipDuration(app, 4, 12.5);
    assert.equal(app.flips.at(-1)?.durationMs, 12.5);
    assert.equal(app.flips[0]?.durationMs, 0);
  });

  void it('refuses to flip to an empty color or the live one, and to overwrite live', () => {
    const app = emptyApp('shop', []);
    assert.throws(
      () => flipApp(app, { to: 'green', kind: 'flip', generation: 1, at: 't', durationMs: 0 }),
      code('CUTOVER_ERR_FLIP_NO_TARGET'),
    );
    const live = flipApp(placeRelease(app, 'blue', release('v1')), {
      to: 'blue',
      kind: 'deploy',
      generation: 1,
      at: 't',
      durationMs: 0,
    });
    assert.throws(
      () => flipApp(live, { to: 'blue', kind: 'flip', generation: 2, at: 't', durationMs: 0 }),
      /already live/,
    );
    assert.throws(() => placeRelease(live, 'blue', release('v2')), /live color/);
  });

  void it('deploying over the standby drops the standby', () => {
    let app = placeRelease(emptyApp('shop', []), 'blue', release('v1'));
    app = flipApp(app, { to: 'blue', kind: 'deploy', generation: 1, at: 't', durationMs: 0 });
    app = placeRelease(app, 'green', release('v2'));
    app = flipApp(app, { to: 'green', kind: 'deploy', generation: 2, at: 't', durationMs: 0 });
    app = placeRelease(app, 'blue', release('v3'));
    assert.equal(app.standby, null);
    assert.equal(app.live, 'green');
  });

  type Step = { kind: 'deploy'; id: number } | { kind: 'flip'; to?: Color } | { kind: 'rollback' };

  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('deploy' as const), id: fc.nat(1000) }),
    fc.record({
      kind: fc.constant('flip' as const),
      to: fc.option(fc.constantFrom(...COLORS), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('rollback' as const) }),
  );

  void it('any sequence of deploy / flip / rollback keeps the invariants (property)', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        let app: AppState = emptyApp('shop', []);
        let generation = 0;
        for (const step of steps) {
          generation += 1;
          const flip = { generation, at: 't', durationMs: 0 };
          try {
            if (step.kind === 'deploy') {
              app = placeRelease(app, idleColorOf(app), release(`v${step.id}`));
              app = flipApp(app, { ...flip, to: idleColorOf(app), kind: 'deploy' });
            } else if (step.kind === 'flip') {
              app = flipApp(app, { ...flip, to: flipTargetOf(app, step.to), kind: 'flip' });
            } else {
              app = flipApp(app, { ...flip, to: rollbackTargetOf(app), kind: 'rollback' });
            }
          } catch (error) {
            // Refusals are fine; they must be CutoverErrors and change nothing.
            assert.ok(isCutoverError(error));
          }
          // At most one live color, and it holds a release.
          if (app.live !== null) assert.notEqual(app.environments[app.live].release, null);
          // The standby is never the live color and always holds a release.
          if (app.standby !== null) {
            assert.notEqual(app.standby, app.live);
            assert.notEqual(app.environments[app.standby].release, null);
          }
          // Flip generations strictly increase and the record is bounded.
          for (let i = 1; i < app.flips.length; i += 1) {
            assert.ok((app.flips[i]?.generation ?? 0) > (app.flips[i - 1]?.generation ?? 0));
          }
          assert.ok(app.flips.length <= FLIP_HISTORY_LIMIT);
          // The last flip names the live color and its release.
          const last = app.flips.at(-1);
          if (last !== undefined) {
            assert.equal(last.to, app.live);
            assert.equal(last.release, app.live && app.environments[app.live].release?.id);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
