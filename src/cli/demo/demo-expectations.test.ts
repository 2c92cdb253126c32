import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateDemo } from './demo-expectations.ts';
import type { DemoMeasurements } from './demo-expectations.ts';
import type { DemoDeployment, DemoDrill } from './demo-report.ts';
import type { LoadResult } from './demo-load.ts';
import type { DemoLintFinding, DemoSchema, DemoShadow } from './demo-schema.ts';
import { DEMO_STORY } from './run-demo.ts';

function deployment(overrides: Partial<DemoDeployment>): DemoDeployment {
  return {
    id: 'd',
    release: 'v1',
    outcome: 'succeeded',
    failedAt: null,
    reason: null,
    from: null,
    to: 'blue',
    flipped: true,
    flipMs: 1,
    flipBackMs: null,
    verify: { probes: 10, failedProbes: 0 },
    durationMs: 6_000,
    steps: [],
    schema: null,
    liveAfter: 'v1',
    underLoad: false,
    ...overrides,
  };
}

const DRILL: DemoDrill = {
  passed: true,
  reason: null,
  live: 'green',
  standby: 'blue',
  rtoMs: 5,
  objectiveMs: 1_000,
  failedRequests: 0,
  requests: 100,
  backFlipMs: 1,
  forwardFlipMs: 1,
  durationMs: 10_000,
};

const LOAD: LoadResult = {
  total: 1_020,
  ok: 1_000,
  failed: 0,
  tolerated: { v4: 20 },
  newConnections: 250,
  posts: 250,
  byRelease: { v1: 100, v2: 880, v4: 20 },
  checkedAfterFlip: 800,
  misrouted: 0,
  misroutedSamples: [],
  errorSamples: [],
  durationMs: 20_000,
};

const SCHEMA_REFUSAL_STEPS = [
  { step: 'locking', durationMs: 1 },
  { step: 'resolving', durationMs: 1 },
  { step: 'drift-check', durationMs: 2 },
  { step: 'schema-check', durationMs: 400 },
  { step: 'cleaning-up', durationMs: 2 },
];

const GOOD: DemoMeasurements = {
  story: DEMO_STORY,
  deployments: [
    deployment({}),
    deployment({ release: 'v2', to: 'green', from: 'blue', liveAfter: 'v2', underLoad: true }),
    deployment({
      release: 'v3',
      outcome: 'failed',
      failedAt: 'smoke',
      flipped: false,
      liveAfter: 'v2',
    }),
    deployment({ release: 'v4', outcome: 'rolled-back', failedAt: 'verifying', liveAfter: 'v2' }),
    deployment({
      release: 'v5',
      outcome: 'failed',
      failedAt: 'schema-check',
      flipped: false,
      steps: SCHEMA_REFUSAL_STEPS,
      schema: {
        pending: ['0003_rename_customer.sql'],
        lint: [
          {
            rule: 'rename-column',
            severity: 'error',
            file: '0003_rename_customer.sql',
            line: 5,
            message: 'Renaming orders.customer to customer_name breaks the version still serving',
          },
        ],
        shadow: null,
        applied: null,
      },
      liveAfter: 'v2',
    }),
    deployment({
      release: 'v6',
      outcome: 'failed',
      failedAt: 'schema-check',
      flipped: false,
      steps: SCHEMA_REFUSAL_STEPS,
      schema: {
        pending: ['0003_require_order_channel.sql'],
        lint: [],
        shadow: {
          passed: false,
          cutoverMs: 5,
          releases: [
            { release: 'v2', passed: false },
            { release: 'v6', passed: true },
          ],
          failures: ['live release v2 failed the compat command on the migrated shadow'],
        },
        applied: null,
      },
      liveAfter: 'v2',
    }),
    deployment({
      release: 'v7-drift',
      outcome: 'failed',
      failedAt: 'drift-check',
      flipped: false,
      steps: SCHEMA_REFUSAL_STEPS.filter((s) => s.step !== 'schema-check'),
      liveAfter: 'v2',
    }),
    deployment({ release: 'v10', shifted: true, liveAfter: 'v10' }),
    deployment({
      release: 'v11',
      outcome: 'rolled-back',
      failedAt: 'shifting',
      flipped: false,
      shifted: true,
      liveAfter: 'v10',
    }),
  ],
  drill: DRILL,
  drillRan: true,
  drillError: null,
  requests: LOAD,
};

function failing(m: DemoMeasurements): string[] {
  return evaluateDemo(m)
    .filter((e) => !e.ok)
    .map((e) => e.name);
}

void test('the whole story as it should go: every expectation holds', () => {
  const results = evaluateDemo(GOOD);
  assert.equal(results.length, 12);
  assert.deepEqual(failing(GOOD), []);
  const zero = results.find((e) => e.name === 'zero failed requests');
  assert.equal(zero?.detail, '0 failed of 1020, 20 errors served by v4 itself not counted');
});

void test('each broken promise fails its own expectation', () => {
  const [v1, v2, v3, v4, v5, v6] = GOOD.deployments;
  assert.ok(v1 && v2 && v3 && v4 && v5 && v6);
  const rest = GOOD.deployments.slice(6);
  const with3 = (d: DemoDeployment): DemoMeasurements => ({
    ...GOOD,
    deployments: [v1, v2, d, v4, v5, v6, ...rest],
  });
  // v3 refused at another step, or after a flip, or leaving another release live.
  assert.deepEqual(failing(with3({ ...v3, failedAt: 'starting' })), [
    'v3 is refused before the flip',
  ]);
  assert.deepEqual(failing(with3({ ...v3, flipped: true })), ['v3 is refused before the flip']);
  assert.deepEqual(failing(with3({ ...v3, liveAfter: 'v3' })), ['v3 is refused before the flip']);
  // v4 that went live, or failed without a flip.
  const with4 = (d: DemoDeployment): DemoMeasurements => ({
    ...GOOD,
    deployments: [v1, v2, v3, d, v5, v6, ...rest],
  });
  assert.deepEqual(failing(with4({ ...v4, outcome: 'succeeded', liveAfter: 'v4' })), [
    'v4 is rolled back automatically',
  ]);
  assert.deepEqual(failing(with4({ ...v4, outcome: 'failed', flipped: false })), [
    'v4 is rolled back automatically',
  ]);
  assert.deepEqual(failing({ ...GOOD, deployments: [v1, v3, v4, v5, v6, ...rest] }), [
    'v2 goes live',
  ]);
  // The drill: not passed, too slow, a failed request, or refused outright.
  assert.deepEqual(failing({ ...GOOD, drill: { ...DRILL, rtoMs: 1_500 } }), [
    'the rollback drill passes within its RTO objective',
  ]);
  assert.deepEqual(failing({ ...GOOD, drill: { ...DRILL, failedRequests: 1 } }), [
    'the rollback drill passes within its RTO objective',
  ]);
  const refused = evaluateDemo({ ...GOOD, drill: null, drillError: 'shop has no standby' });
  assert.equal(refused.find((e) => !e.ok)?.detail, 'shop has no standby');
  // The load: a failed or misrouted request, or nothing served.
  assert.deepEqual(failing({ ...GOOD, requests: { ...LOAD, failed: 1 } }), [
    'zero failed requests',
  ]);
  assert.deepEqual(failing({ ...GOOD, requests: { ...LOAD, misrouted: 1 } }), [
    'every request outside a flip is answered by the live release',
  ]);
  assert.deepEqual(failing({ ...GOOD, requests: { ...LOAD, ok: 0 } }), ['zero failed requests']);
  // The issue-5 part: drift refused elsewhere, a canary flipped to, or one never shared.
  const [v7, v10, v11] = rest;
  assert.ok(v7 && v10 && v11);
  const withLast = (d7: DemoDeployment, d10: DemoDeployment, d11: DemoDeployment) => ({
    ...GOOD,
    deployments: [v1, v2, v3, v4, v5, v6, d7, d10, d11],
  });
  assert.deepEqual(failing(withLast({ ...v7, failedAt: 'schema-check' }, v10, v11)), [
    'v7-drift is refused before the flip',
  ]);
  assert.deepEqual(failing(withLast(v7, { ...v10, shifted: false }, v11)), [
    'v10 goes live through its canary steps',
  ]);
  assert.deepEqual(failing(withLast(v7, v10, { ...v11, flipped: true })), [
    'v11 is rolled back by its canary analysis before any flip',
  ]);
});

void test('a shortened story checks only what ran', () => {
  const short: DemoMeasurements = {
    story: DEMO_STORY.slice(0, 1),
    deployments: GOOD.deployments.slice(0, 1),
    drill: null,
    drillRan: false,
    drillError: null,
    requests: null,
  };
  assert.deepEqual(
    evaluateDemo(short).map((e) => [e.name, e.ok]),
    [['v1 goes live', true]],
  );
});

void test('v5 and v6 must be refused at the schema check, by the linter and by the shadow check', () => {
  const [v1, v2, v3, v4, v5, v6] = GOOD.deployments;
  assert.ok(v1 && v2 && v3 && v4 && v5 && v6);
  const rest = GOOD.deployments.slice(6);
  const schema5: DemoSchema | null = v5.schema;
  const schema6: DemoSchema | null = v6.schema;
  assert.ok(schema5 !== null && schema6 !== null);
  const V5 = 'v5 is refused by the migration linter (rename-column) before anything starts';
  const V6 =
    'v6 is refused by the shadow check (v2 fails on the migrated shadow) before anything starts';
  const with56 = (five: DemoDeployment, six: DemoDeployment): DemoMeasurements => ({
    ...GOOD,
    deployments: [v1, v2, v3, v4, five, six, ...rest],
  });
  const detail = evaluateDemo(GOOD).find((e) => e.name === V5)?.detail;
  assert.equal(
    detail,
    'outcome failed at step schema-check, lint rename-column at 0003_rename_customer.sql:5, shadow not run, live v2 after it',
  );
  // v5 refused by another rule, or only warned about, or after its instances started.
  const finding = schema5.lint[0];
  assert.ok(finding);
  const v5lint = (lint: readonly DemoLintFinding[]): DemoDeployment => ({
    ...v5,
    schema: { ...schema5, lint },
  });
  assert.deepEqual(failing(with56(v5lint([{ ...finding, rule: 'drop-column' }]), v6)), [V5]);
  assert.deepEqual(failing(with56(v5lint([{ ...finding, severity: 'warning' }]), v6)), [V5]);
  assert.deepEqual(failing(with56(v5lint([]), v6)), [V5]);
  assert.deepEqual(failing(with56({ ...v5, schema: null }, v6)), [V5]);
  assert.deepEqual(
    failing(with56({ ...v5, steps: [...v5.steps, { step: 'starting', durationMs: 500 }] }, v6)),
    [V5],
  );
  assert.deepEqual(failing(with56({ ...v5, failedAt: 'smoke' }, v6)), [V5]);
  // v6: the shadow check passed, only the new release failed there, or v6 went live.
  const shadow = schema6.shadow;
  assert.ok(shadow);
  const v6shadow = (next: DemoShadow | null): DemoDeployment => ({
    ...v6,
    schema: { ...schema6, shadow: next },
  });
  assert.deepEqual(failing(with56(v5, v6shadow({ ...shadow, passed: true }))), [V6]);
  assert.deepEqual(
    failing(
      with56(
        v5,
        v6shadow({
          ...shadow,
          releases: [
            { release: 'v2', passed: true },
            { release: 'v6', passed: false },
          ],
        }),
      ),
    ),
    [V6],
  );
  assert.deepEqual(failing(with56(v5, v6shadow(null))), [V6]);
  assert.deepEqual(
    failing(with56(v5, { ...v6, outcome: 'succeeded', failedAt: null, liveAfter: 'v6' })),
    [V6],
  );
});
