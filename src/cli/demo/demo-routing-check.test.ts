import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentStepView, DeploymentView } from '../../client/api-types.ts';
import {
  addDeployment,
  addFlip,
  checkRouting,
  createTimeline,
  liveAtEnd,
} from './demo-routing-check.ts';
import type { AnsweredRequest } from './demo-routing-check.ts';

const T0 = Date.parse('2026-11-26T12:00:00.000Z');

function step(name: string, from: number, to: number | null): DeploymentStepView {
  return {
    step: name as DeploymentStepView['step'],
    startedAt: new Date(T0 + from).toISOString(),
    endedAt: to === null ? null : new Date(T0 + to).toISOString(),
    durationMs: to === null ? null : to - from,
  };
}

function view(release: string, steps: DeploymentStepView[]): DeploymentView {
  return {
    id: `d-${release}`,
    app: 'shop',
    release,
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
    updatedAt: new Date(T0).toISOString(),
    endedAt: null,
    resumes: 0,
    steps,
    report: {},
  };
}

/** A request sent `at` ms after T0, answered 5 ms later by `release`. */
function answer(at: number, release: string): AnsweredRequest {
  return { sentAt: T0 + at, doneAt: T0 + at + 5, release };
}

void test('a flip and a flip back: each answer is checked against the release live when sent', () => {
  const timeline = createTimeline(T0, 'v2');
  // v3 never flips; v4 flips at 1000-1010 and is flipped back at 1300-1305.
  addDeployment(timeline, view('v3', [step('smoke', 0, 100), step('cleaning-up', 100, 200)]), 0);
  assert.equal(liveAtEnd(timeline), 'v2');
  addDeployment(
    timeline,
    view('v4', [
      step('warmup', 900, 1000),
      step('flipping', 1000, 1010),
      step('verifying', 1010, 1300),
      step('rolling-back', 1300, 1305),
      step('cleaning-up', 1305, 1500),
      step('rolled-back', 1500, null),
    ]),
    T0 + 2000,
  );
  assert.equal(liveAtEnd(timeline), 'v2');
  const answers = [
    answer(50, 'v2'),
    answer(990, 'v2'), // overlaps the flip (done at 995, window from 998): checked, still v2
    answer(1005, 'v4'), // inside the flip: not checked
    answer(1100, 'v4'),
    answer(1302, 'v4'), // inside the flip back: not checked
    answer(1400, 'v2'),
  ];
  assert.deepEqual(checkRouting(answers, timeline), { checked: 4, misrouted: 0, samples: [] });
  // v3 answering (it never went live) or v2 answering while v4 was live are misrouted.
  const wrong = checkRouting([answer(150, 'v3'), answer(1100, 'v2'), answer(1400, 'v4')], timeline);
  assert.equal(wrong.checked, 3);
  assert.equal(wrong.misrouted, 3);
  assert.match(wrong.samples[0] ?? '', /answered by v3, v2 was live/);
  assert.match(wrong.samples[1] ?? '', /answered by v2, v4 was live/);
});

void test('a drill is one unchecked window; a flip still running counts until now', () => {
  const timeline = createTimeline(T0, 'v1');
  addDeployment(timeline, view('v2', [step('flipping', 100, null)]), T0 + 200);
  addFlip(timeline, T0 + 1000, T0 + 3000, 'v2');
  const check = checkRouting(
    [
      answer(50, 'v1'),
      answer(150, 'v1'),
      answer(500, 'v2'),
      answer(2000, 'v1'),
      answer(3100, 'v2'),
    ],
    timeline,
  );
  assert.deepEqual(check, { checked: 3, misrouted: 0, samples: [] });
});

void test('canary steps: either release may answer inside them, only the live one outside', () => {
  const timeline = createTimeline(T0, 'v10');
  // v11 shares traffic at 1000-3000, is taken back at 3000-3004, then cleaned up.
  addDeployment(
    timeline,
    view('v11', [
      step('warmup', 900, 1000),
      step('shifting', 1000, 3000),
      step('rolling-back', 3000, 3004),
      step('cleaning-up', 3004, 3100),
    ]),
    0,
  );
  assert.equal(liveAtEnd(timeline), 'v10');
  const result = checkRouting(
    [
      answer(500, 'v10'),
      answer(1500, 'v11'),
      answer(1600, 'v10'),
      answer(3500, 'v10'),
      answer(3600, 'v11'),
      answer(800, 'v11'),
    ],
    timeline,
  );
  assert.equal(result.checked, 6);
  assert.equal(result.misrouted, 2);
});
