import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_T0, step, view } from '../../test/helpers/deployment-views.ts';
import {
  failedStepIndex,
  finishedStepLines,
  formatDeploymentSummary,
  formatStatusLine,
  formatStepDuration,
} from './format-deployment.ts';

const T0 = Date.parse(DEPLOYMENT_T0);

void test('step durations: ms below 100 ms, seconds with two decimals above', () => {
  assert.equal(formatStepDuration(3.21), '3.2ms');
  assert.equal(formatStepDuration(3), '3ms');
  assert.equal(formatStepDuration(45.4), '45ms');
  assert.equal(formatStepDuration(300), '0.30s');
  assert.equal(formatStepDuration(1210), '1.21s');
});

void test('finished steps get a check mark; the running step gets none', () => {
  const running = view({
    step: 'smoke',
    steps: [step('resolving', 0, 5), step('starting', 5, 1215), step('smoke', 1215, null)],
  });
  assert.deepEqual(finishedStepLines(running), [
    { index: 0, text: '✓ resolving 5ms' },
    { index: 1, text: '✓ starting 1.21s' },
  ]);
});

void test('the step a failure followed gets a cross and the reason without its step prefix', () => {
  const failed = view({
    step: 'failed',
    ended: true,
    outcome: 'failed',
    reason: 'step "smoke" failed: GET /api: status 500, expected 200',
    steps: [step('starting', 0, 1210), step('smoke', 1210, 1510), step('cleaning-up', 1510, 1600)],
  });
  assert.equal(failedStepIndex(failed), 1);
  assert.deepEqual(
    finishedStepLines(failed).map((line) => line.text),
    ['✓ starting 1.21s', '✗ smoke 0.30s: GET /api: status 500, expected 200', '✓ cleaning-up 90ms'],
  );
});

void test('a probe failure marks verifying, not the flip back that followed', () => {
  const rolledBack = view({
    step: 'rolled-back',
    ended: true,
    outcome: 'rolled-back',
    reason: 'a probe failed: GET /: status 500; flipping back to blue',
    steps: [
      step('flipping', 0, 2),
      step('verifying', 2, 1202),
      step('rolling-back', 1202, 1204),
      step('cleaning-up', 1204, 1300),
    ],
  });
  assert.equal(failedStepIndex(rolledBack), 1);
  assert.equal(
    finishedStepLines(rolledBack)[1]?.text,
    '✗ verifying 1.20s: a probe failed: GET /: status 500; flipping back to blue',
  );
  assert.equal(failedStepIndex(view({ steps: [step('starting', 0, 5), step('smoke', 5, 9)] })), -1);
});

void test('status line: step, elapsed time in the step, what it waits for', () => {
  const running = view({
    step: 'starting',
    waitingFor: '1 of 2 instances healthy',
    steps: [step('resolving', 0, 100), step('starting', 100, null)],
  });
  assert.equal(
    formatStatusLine(running, T0 + 3300),
    '[starting 3.2s] waiting for 1 of 2 instances healthy',
  );
  assert.equal(formatStatusLine({ ...running, waitingFor: null }, T0 + 100), '[starting 0.0s]');
  // A view that does not list the running step: it began when the last one ended.
  const unlisted = view({ step: 'smoke', steps: [step('starting', 0, 1000)] });
  assert.equal(formatStatusLine(unlisted, T0 + 1500), '[smoke 0.5s]');
  assert.equal(formatStatusLine(view({ ended: true, step: 'succeeded' }), T0), null);
});

void test('summary of a success: outcome, colors, flip, verify probes, drain', () => {
  const done = view({
    step: 'succeeded',
    ended: true,
    outcome: 'succeeded',
    flipped: true,
    endedAt: new Date(T0 + 6500).toISOString(),
    report: {
      start: { instances: [{ id: 'g1', address: '127.0.0.1:4001' }], healthyMs: 1210 },
      smoke: {
        passed: true,
        durationMs: 30,
        checks: [{ name: 'GET /', outcome: 'passed', reason: null, durationMs: 3, output: null }],
      },
      warmup: { sent: 10, ok: 10, failed: 0, p50Ms: 1.5, p99Ms: 4, durationMs: 20 },
      flip: { generation: 7, durationMs: 2.1 },
      verify: {
        ok: true,
        reason: null,
        durationMs: 5000,
        probes: 50,
        failedProbes: 0,
        timeline: [],
      },
      drain: { completed: 3, aborted: 0, websocketsClosed: 1, durationMs: 12, cancelled: false },
    },
  });
  assert.equal(
    formatDeploymentSummary(done),
    [
      'shop v2: succeeded in 6.50s (d-1)',
      '  live on green; blue is the standby',
      '  started 1 instances, healthy in 1.21 s',
      '  smoke: 1 of 1 checks passed in 30 ms',
      '  warm-up: 10 requests, 0 failed, p50 1.5 ms, p99 4.0 ms',
      '  flip: 2.1 ms, generation 7',
      '  verify: 50 probes, 0 failed, over 5.00 s',
      '  drain of blue: 3 in-flight completed, 0 ended at the deadline, 1 websockets closed, in 12 ms',
    ].join('\n'),
  );
});

void test('summary of a failure: where traffic is, the failed checks, the reason', () => {
  const failed = view({
    step: 'failed',
    ended: true,
    outcome: 'failed',
    reason: 'step "smoke" failed: GET /api: status 500, expected 200',
    endedAt: new Date(T0 + 1600).toISOString(),
    report: {
      smoke: {
        passed: false,
        durationMs: 300,
        checks: [
          {
            name: 'GET /api',
            outcome: 'failed',
            reason: 'status 500, expected 200',
            durationMs: 4,
            output: null,
          },
        ],
      },
    },
  });
  assert.equal(
    formatDeploymentSummary(failed),
    [
      'shop v2: failed in 1.60s (d-1)',
      '  traffic stays on blue',
      '  smoke: 0 of 1 checks passed in 300 ms',
      '    ✗ GET /api: status 500, expected 200',
      '  reason: step "smoke" failed: GET /api: status 500, expected 200',
    ].join('\n'),
  );
  const rolledBack = view({
    step: 'rolled-back',
    ended: true,
    outcome: 'rolled-back',
    reason: 'a probe failed',
    report: { flipBack: { generation: 9, durationMs: 1.2 } },
  });
  assert.match(
    formatDeploymentSummary(rolledBack),
    /traffic is back on blue\n {2}flip back: 1\.2 ms, generation 9/,
  );
  const first = view({ from: null, step: 'failed', ended: true, outcome: 'failed', reason: 'x' });
  assert.match(formatDeploymentSummary(first), /nothing live: this was the first deployment/);
});

void test('summary of a rolling deployment: its batches, no standby, and no instant rollback', () => {
  const note =
    'no instant rollback: rolling replaces the live instances in place, so no standby is kept after the flip; going back means deploying the old release again';
  const batch = (index: number, percent: number, fresh: number, ok = true) => ({
    index,
    started: index === 0 ? 0 : 1,
    removed: 1,
    percent,
    fresh,
    old: 3 - fresh,
    ok,
    reason: ok
      ? null
      : `batch ${index + 1}: error rate 40% (4 of 10 requests) above the 0% threshold`,
    probes: 10,
    watchedMs: 1000,
  });
  const done = view({
    step: 'succeeded',
    ended: true,
    outcome: 'succeeded',
    flipped: true,
    endedAt: new Date(T0 + 6500).toISOString(),
    report: {
      rolling: {
        note,
        batch: 1,
        liveTarget: 3,
        target: 3,
        batches: [batch(0, 33.33, 1), batch(1, 66.67, 2), batch(2, 100, 3)],
        restored: null,
      },
    },
  });
  assert.equal(
    formatDeploymentSummary(done),
    [
      'shop v2: succeeded in 6.50s (d-1)',
      '  live on green; no standby (rolling)',
      '  rolling: 3 batches of 1 (33.33%, 66.67%, 100%), 3 instances replaced by 3',
      `  ${note}`,
    ].join('\n'),
  );
  const back = view({
    step: 'rolled-back',
    ended: true,
    outcome: 'rolled-back',
    flipped: false,
    reason: 'the rolling shift failed: batch 1: error rate 40%',
    endedAt: new Date(T0 + 6500).toISOString(),
    report: {
      rolling: {
        note,
        batch: 1,
        liveTarget: 3,
        target: 3,
        batches: [batch(0, 33.33, 1, false)],
        restored: {
          reason: 'batch 1: error rate 40%',
          started: 1,
          stopped: 0,
          live: 3,
          problem: null,
        },
      },
    },
  });
  const text = formatDeploymentSummary(back);
  assert.match(text, /✗ batch 1: error rate 40% \(4 of 10 requests\)/);
  assert.match(text, /back to the old release: 3 of 3 instances serve \(1 started again\)/);
  assert.match(text, /traffic stays on blue/);
});
