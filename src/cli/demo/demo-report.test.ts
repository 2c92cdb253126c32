import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentStepView, DeploymentView } from '../../client/api-types.ts';
import { failedStep, formatDemoReport, formatStepLine, toDemoDeployment } from './demo-report.ts';
import type { DemoReport } from './demo-report.ts';
import type { LoadResult } from './demo-load.ts';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');

/** Steps back to back from T0, each `ms` long; the last one (an outcome) has no end. */
function steps(...list: [string, number][]): DeploymentStepView[] {
  let at = T0;
  return list.map(([step, ms], index) => {
    const startedAt = new Date(at).toISOString();
    const last = index === list.length - 1;
    at += ms;
    return {
      step: step as DeploymentStepView['step'],
      startedAt,
      endedAt: last ? null : new Date(at).toISOString(),
      durationMs: last ? null : ms,
    };
  });
}

function deploymentView(overrides: Partial<DeploymentView>): DeploymentView {
  return {
    id: 'd-1',
    app: 'shop',
    release: 'v2',
    step: 'succeeded',
    ended: true,
    outcome: 'succeeded',
    reason: null,
    from: 'blue',
    to: 'green',
    flipped: true,
    waitingFor: null,
    requestedBy: 'demo',
    startedAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0 + 6_000).toISOString(),
    endedAt: new Date(T0 + 6_000).toISOString(),
    resumes: 0,
    steps: steps(
      ['locking', 2],
      ['resolving', 1],
      ['starting', 600],
      ['smoke', 30],
      ['warmup', 40],
      ['flipping', 2],
      ['verifying', 5_000],
      ['draining', 10],
      ['standby', 1],
      ['succeeded', 0],
    ),
    report: {
      flip: { generation: 3, durationMs: 1.5 },
      verify: {
        ok: true,
        reason: null,
        durationMs: 5_000,
        probes: 50,
        failedProbes: 0,
        timeline: [],
      },
    },
    ...overrides,
  };
}

const SMOKE_FAILED = deploymentView({
  release: 'v3',
  step: 'failed',
  outcome: 'failed',
  flipped: false,
  reason: 'step "smoke" failed: GET /api/products: status 500, expected 200',
  steps: steps(
    ['locking', 2],
    ['resolving', 1],
    ['starting', 600],
    ['smoke', 30],
    ['cleaning-up', 200],
    ['failed', 0],
  ),
  report: {},
});

const ROLLED_BACK = deploymentView({
  release: 'v4',
  step: 'rolled-back',
  outcome: 'rolled-back',
  flipped: false,
  reason: 'a probe failed: GET /: status 500; flipping back to green',
  from: 'green',
  to: 'blue',
  steps: steps(
    ['locking', 2],
    ['starting', 600],
    ['smoke', 30],
    ['warmup', 40],
    ['flipping', 2],
    ['verifying', 300],
    ['rolling-back', 2],
    ['cleaning-up', 200],
    ['rolled-back', 0],
  ),
  report: {
    flip: { generation: 4, durationMs: 1.2 },
    verify: {
      ok: false,
      reason: 'status 500',
      durationMs: 300,
      probes: 4,
      failedProbes: 1,
      timeline: [],
    },
    flipBack: { generation: 5, durationMs: 0.9 },
  },
});

const V6_FAILURE =
  'live release v2 failed the compat command `SHOP_VERSION=v2 node ../app/compat-check.js` on the migrated shadow: exit code 1: ok v2 GET /api/products\n' +
  'FAILED v2 POST /api/orders: status 500, expected 201: orders.channel is required\nok v2 GET /api/orders';

const SCHEMA_STEPS = (): DeploymentStepView[] =>
  steps(
    ['locking', 1],
    ['resolving', 1],
    ['drift-check', 2],
    ['schema-check', 400],
    ['cleaning-up', 2],
    ['failed', 0],
  );

const LINT_REFUSED = deploymentView({
  release: 'v5',
  step: 'failed',
  outcome: 'failed',
  flipped: false,
  reason:
    'step "schema-check" failed: the migration linter blocked 1 statement(s): rename-column at /x/v5/migrations/0003_rename_customer.sql:5',
  steps: SCHEMA_STEPS(),
  report: {
    schema: {
      pending: ['0003_rename_customer.sql'],
      lint: {
        blocking: 1,
        findings: [
          {
            rule: 'rename-column',
            severity: 'error',
            path: '/x/v5/migrations/0003_rename_customer.sql',
            line: 5,
            message: 'Renaming orders.customer to customer_name breaks the version still serving.',
            fix: 'Expand/contract.',
          },
        ],
      },
    },
  },
});

const SHADOW_REFUSED = deploymentView({
  release: 'v6',
  step: 'failed',
  outcome: 'failed',
  flipped: false,
  reason: `step "schema-check" failed: the shadow check failed: ${V6_FAILURE}`,
  steps: SCHEMA_STEPS(),
  report: {
    schema: {
      pending: ['0003_require_order_channel.sql'],
      lint: { blocking: 0, findings: [] },
      shadow: {
        passed: false,
        createMs: 2,
        applyMs: 2,
        dropMs: 1,
        cutoverMs: 5,
        checksMs: 0,
        applied: ['0003_require_order_channel.sql'],
        applyError: null,
        failures: [V6_FAILURE],
        live: { release: 'v2', passed: false },
        next: { release: 'v6', passed: true },
        notChecked: [],
        locks: [],
      },
    },
  },
});

void test('the failed step is the one left for the clean-up or the flip back', () => {
  assert.equal(failedStep(deploymentView({})), null);
  assert.equal(failedStep(SMOKE_FAILED), 'smoke');
  assert.equal(failedStep(ROLLED_BACK), 'verifying');
  assert.equal(failedStep(LINT_REFUSED), 'schema-check');
  // Refused at the lock: no step before the outcome, the reason names none either.
  assert.equal(
    failedStep(
      deploymentView({
        outcome: 'failed',
        step: 'failed',
        reason: 'shop is locked by d-0',
        steps: steps(['locking', 1], ['failed', 0]),
      }),
    ),
    null,
  );
});

void test('a deployment in the report: outcome, flip, step durations without the outcome', () => {
  const v3 = toDemoDeployment(SMOKE_FAILED, 'v2', true);
  assert.equal(v3.failedAt, 'smoke');
  assert.equal(v3.flipped, false);
  assert.equal(v3.durationMs, 6_000);
  assert.deepEqual(
    v3.steps.map((s) => s.step),
    ['locking', 'resolving', 'starting', 'smoke', 'cleaning-up'],
  );
  const v4 = toDemoDeployment(ROLLED_BACK, 'v2', true);
  assert.equal(v4.flipped, true);
  assert.equal(v4.flipMs, 1.2);
  assert.equal(v4.flipBackMs, 0.9);
  assert.deepEqual(v4.verify, { probes: 4, failedProbes: 1 });
  assert.equal(v4.schema, null, 'no schema report: no database declared');
  const v6 = toDemoDeployment(SHADOW_REFUSED, 'v2', true);
  assert.equal(v6.failedAt, 'schema-check');
  assert.deepEqual(v6.schema?.shadow?.releases, [
    { release: 'v2', passed: false },
    { release: 'v6', passed: true },
  ]);
});

void test('a step line marks the step that failed', () => {
  const [, , , smoke, cleaning] = SMOKE_FAILED.steps;
  assert.ok(smoke !== undefined && cleaning !== undefined);
  assert.equal(formatStepLine(smoke, cleaning), '    ✗ smoke        30 ms');
  const [locking, resolving] = SMOKE_FAILED.steps;
  assert.ok(locking !== undefined);
  assert.equal(formatStepLine(locking, resolving), '    ✓ locking      2.0 ms');
});

const LOAD: LoadResult = {
  total: 3_030,
  ok: 3_000,
  failed: 0,
  tolerated: { v4: 30 },
  newConnections: 300,
  posts: 250,
  byRelease: { v2: 1_400, v1: 1_600 },
  checkedAfterFlip: 2_900,
  misrouted: 0,
  misroutedSamples: [],
  errorSamples: [],
  durationMs: 2_100,
};

const REPORT: DemoReport = {
  ok: true,
  app: 'shop',
  daemon: { public: 'http://127.0.0.1:1', preview: 'http://127.0.0.1:2' },
  deployments: [
    toDemoDeployment(deploymentView({}), 'v2', true),
    toDemoDeployment(SMOKE_FAILED, 'v2', true),
    toDemoDeployment(ROLLED_BACK, 'v2', true),
    toDemoDeployment(LINT_REFUSED, 'v2', true),
    toDemoDeployment(SHADOW_REFUSED, 'v2', true),
  ],
  drill: {
    passed: true,
    reason: null,
    live: 'green',
    standby: 'blue',
    rtoMs: 4,
    objectiveMs: 1_000,
    failedRequests: 0,
    requests: 120,
    backFlipMs: 1,
    forwardFlipMs: 1.1,
    durationMs: 10_000,
  },
  requests: LOAD,
  expectations: [{ name: 'zero failed requests', ok: true, detail: '0 failed of 3030' }],
  durationMs: 30_000,
};

void test('the text report: each deployment, the drill, the counts and the verdict', () => {
  const text = formatDemoReport(REPORT);
  assert.match(
    text,
    /deploy v2 {3}succeeded {3}into green, flip 1\.5 ms, 50 probes passed \(under load\)/,
  );
  assert.match(text, /deploy v3 {3}failed {6}into green at step smoke, before the flip/);
  assert.match(text, /why: step "smoke" failed: GET \/api\/products: status 500/);
  assert.match(
    text,
    /deploy v4 {3}rolled-back into blue: flipped \(1\.2 ms\), 1 of 4 probes failed, flipped back in 900 µs/,
  );
  assert.match(text, /steps: locking 2\.0 ms, resolving 1\.0 ms, starting 600 ms/);
  // v5 and v6: refused at the schema check, the lint finding and the shadow failure in one line
  // each, instead of the long reason.
  assert.match(
    text,
    /deploy v5 {3}failed {6}into green at step schema-check, before any instance started/,
  );
  assert.match(
    text,
    / {15}schema: pending 0003_rename_customer\.sql\n {15}lint: error rename-column at 0003_rename_customer\.sql:5: Renaming orders\.customer/,
  );
  assert.match(
    text,
    / {15}shadow: failed \(v2 FAILED, v6 passed\), cutover's own time 5 ms\n {17}live release v2 failed the compat command on the migrated shadow: exit code 1: FAILED v2 POST \/api\/orders: status 500, expected 201: orders\.channel is required\n/,
  );
  assert.doesNotMatch(text, /why: step "schema-check"/);
  assert.match(
    text,
    /drill {8}passed: RTO 4\.0 ms \(objective 1\.00 s\), 0 failed of 120 requests/,
  );
  assert.match(text, /requests {5}3,030 in 2\.10 s \(v1 1,600, v2 1,400\)/);
  assert.match(text, /failed {7}0\n/);
  assert.match(text, /served by v4 before the automatic rollback: 30 errors from the app itself/);
  assert.match(text, /✓ zero failed requests: 0 failed of 3030/);
  assert.match(text, /OK: every expectation held/);
  const failed = formatDemoReport({
    ...REPORT,
    ok: false,
    requests: { ...LOAD, failed: 2, errorSamples: ['HTTP 502 from the router: bad gateway'] },
    expectations: [{ name: 'zero failed requests', ok: false, detail: '2 failed of 3032' }],
  });
  assert.match(failed, /first errors:\n {4}HTTP 502 from the router: bad gateway/);
  assert.match(failed, /✗ zero failed requests: 2 failed of 3032/);
  assert.match(failed, /FAILED: zero failed requests$/);
});
