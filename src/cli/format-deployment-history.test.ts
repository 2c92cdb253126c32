import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_T0, step, view } from '../../test/helpers/deployment-views.ts';
import { formatDeploymentHistory } from './format-deployment-history.ts';

void test('one block per deployment with step durations, results and reason; drills after', () => {
  const failed = view({
    id: 'd-2',
    release: 'v3',
    step: 'failed',
    ended: true,
    outcome: 'failed',
    reason: 'step "smoke" failed: GET /api: status 500, expected 200',
    endedAt: new Date(Date.parse(DEPLOYMENT_T0) + 1600).toISOString(),
    steps: [step('starting', 0, 1210), step('smoke', 1210, 1510), step('cleaning-up', 1510, 1600)],
    report: {
      smoke: {
        passed: false,
        durationMs: 300,
        checks: [
          { name: 'GET /', outcome: 'passed', reason: null, durationMs: 2, output: null },
          {
            name: 'GET /api',
            outcome: 'failed',
            reason: 'status 500',
            durationMs: 2,
            output: null,
          },
        ],
      },
    },
  });
  const running = view({ id: 'd-3', step: 'verifying', steps: [step('verifying', 0, null)] });
  const text = formatDeploymentHistory(
    [running, failed],
    [
      {
        id: 9,
        app: 'shop',
        type: 'drill',
        at: '2026-11-26T12:05:00.000Z',
        data: { passed: true, rtoMs: 50, objectiveMs: 1000, failedRequests: 0, requests: 190 },
      },
    ],
  );
  assert.equal(
    text,
    [
      'deployments (newest first):',
      `  d-3  shop v2  running (verifying)  ${DEPLOYMENT_T0}, 0ms  blue -> green`,
      `  d-2  shop v3  failed  ${DEPLOYMENT_T0}, 1.60s  blue -> green`,
      '    steps: ✓ starting 1.21s, ✗ smoke 0.30s, ✓ cleaning-up 90ms',
      '    smoke 1/2 passed',
      '    reason: step "smoke" failed: GET /api: status 500, expected 200',
      '',
      'drills (newest first):',
      '  2026-11-26T12:05:00.000Z  shop  drill passed  RTO 50 ms (objective 1.00 s)  0 failed requests of 190',
    ].join('\n'),
  );
  assert.equal(formatDeploymentHistory([], []), 'no deployments yet');
});
