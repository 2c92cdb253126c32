import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentStepView, DeploymentView } from '../../src/client/api-types.ts';
import { deployTimes } from './deploy-overhead.ts';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

function step(
  name: DeploymentStepView['step'],
  from: number,
  to: number | null,
): DeploymentStepView {
  return {
    step: name,
    startedAt: iso(from),
    endedAt: to === null ? null : iso(to),
    durationMs: to === null ? null : to - from,
  };
}

function view(
  steps: DeploymentStepView[],
  endMs: number | null,
  report: DeploymentView['report'] = {},
): DeploymentView {
  return {
    id: 'd-1',
    app: 'shop',
    release: 'v2',
    step: endMs === null ? 'smoke' : 'succeeded',
    ended: endMs !== null,
    outcome: endMs === null ? null : 'succeeded',
    reason: null,
    from: 'blue',
    to: 'green',
    flipped: endMs !== null,
    waitingFor: null,
    requestedBy: 'bench',
    startedAt: iso(0),
    updatedAt: iso(endMs ?? 0),
    endedAt: endMs === null ? null : iso(endMs),
    resumes: 0,
    steps,
    report,
  };
}

void test("the overhead is the total minus the app's measured start, smoke, warm-up, verify and drain", () => {
  const times = deployTimes(
    view(
      [
        step('locking', 0, 10),
        step('resolving', 10, 30),
        step('starting', 30, 830),
        step('smoke', 830, 930),
        step('warmup', 930, 980),
        step('flipping', 985, 1000),
        step('verifying', 1000, 6000),
        step('draining', 6000, 6040),
        step('standby', 6040, 6050),
      ],
      6060,
      {
        start: { instances: [], healthyMs: 780 },
        smoke: { passed: true, durationMs: 90, checks: [] },
        warmup: { sent: 10, ok: 10, failed: 0, p50Ms: 1, p99Ms: 2, durationMs: 45 },
        verify: {
          ok: true,
          reason: null,
          durationMs: 4990,
          probes: 50,
          failedProbes: 0,
          timeline: [],
        },
        drain: { completed: 0, aborted: 0, websocketsClosed: 0, durationMs: 35, cancelled: false },
      },
    ),
  );
  assert.equal(times.totalMs, 6060);
  assert.equal(times.appMs, 780 + 90 + 45 + 4990 + 35);
  assert.equal(times.overheadMs, 6060 - 5940);
  assert.equal(times.app.start, 780);
  assert.equal(times.steps['resolving'], 20);
});

void test('a part the deployment did not run counts nothing for the app', () => {
  const times = deployTimes(view([step('locking', 0, 10), step('starting', 10, 500)], 510));
  assert.equal(times.appMs, 0);
  assert.equal(times.overheadMs, 510);
});

void test('a step run twice (a resume) counts both runs; a running one counts nothing', () => {
  const times = deployTimes(
    view([step('starting', 0, 100), step('starting', 200, 500), step('smoke', 500, null)], 600),
  );
  assert.equal(times.steps['starting'], 400);
  assert.equal(times.steps['smoke'], 0);
});

void test('a deployment that has not ended is refused', () => {
  assert.throws(() => deployTimes(view([step('locking', 0, 5)], null)), /has not ended/);
});
