import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCutoverError } from '../errors.ts';
import type { Effect } from './deployment-effects.ts';
import type { DeploymentEvent } from './deployment-events.ts';
import { createDeployment } from './deployment-state.ts';
import type { DeploymentState } from './deployment-state.ts';
import { replay, resume, transition } from './transition.ts';

const AT = '2026-11-26T10:00:00.000Z';

function start(autoRollback = true): DeploymentState {
  return createDeployment({ id: 'd1', app: 'shop', release: 'v2', requestedAt: AT, autoRollback });
}

/** Apply events in order, collecting every effect emitted. */
function run(
  state: DeploymentState,
  events: readonly DeploymentEvent[],
): { state: DeploymentState; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const event of events) {
    const result = transition(state, event);
    state = result.state;
    effects.push(...result.effects);
  }
  return { state, effects };
}

function kinds(effects: readonly Effect[]): string[] {
  return effects.map((effect) => effect.kind);
}

const UP_TO_FLIP: DeploymentEvent[] = [
  { type: 'LockAcquired', at: AT },
  { type: 'IdleResolved', at: AT, live: 'blue', idle: 'green' },
  { type: 'DriftChecked', at: AT },
  { type: 'SchemaChecked', at: AT },
  { type: 'InstancesHealthy', at: AT },
  { type: 'MigrationsApplied', at: AT },
  { type: 'SmokePassed', at: AT },
  { type: 'WarmupCompleted', at: AT },
];

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isCutoverError(error));
    return error.code;
  }
  assert.fail('expected a refusal');
}

void describe('transition', () => {
  void it('runs the whole pipeline: lock, start on idle, smoke, flip, verify, drain, standby', () => {
    const initial = start();
    assert.deepEqual(kinds(resume(initial)), ['acquire-lock']);
    const { state, effects } = run(initial, [
      ...UP_TO_FLIP,
      { type: 'FlipCommitted', at: AT, generation: 7 },
      { type: 'VerifyWindowPassed', at: AT },
      { type: 'DrainCompleted', at: AT },
      { type: 'LockReleased', at: '2026-11-26T10:01:00.000Z' },
    ]);
    assert.equal(state.step, 'succeeded');
    assert.equal(state.reason, null);
    assert.deepEqual(kinds(effects), [
      'resolve-idle',
      'check-drift',
      'check-schema',
      'start-instances',
      'migrate-expand',
      'smoke',
      'warm-up',
      'flip',
      'verify',
      'drain',
      'keep-standby',
      'release-lock',
    ]);
    assert.deepEqual(
      effects.find((effect) => effect.kind === 'flip'),
      { kind: 'flip', to: 'green', from: 'blue', key: 'd1/flipping/flip', repeatable: false },
    );
    assert.deepEqual(
      effects.find((effect) => effect.kind === 'drain'),
      { kind: 'drain', color: 'blue', key: 'd1/draining/drain', repeatable: true },
    );
    assert.equal(state.flipGeneration, 7);
    assert.equal(state.steps.length, 12);
    assert.deepEqual(state.steps.at(-1), {
      step: 'standby',
      startedAt: AT,
      endedAt: '2026-11-26T10:01:00.000Z',
    });
  });

  void it('on a first deployment skips the drain and keeps no standby', () => {
    const { state, effects } = run(start(), [
      { type: 'LockAcquired', at: AT },
      { type: 'IdleResolved', at: AT, live: null, idle: 'blue' },
      ...UP_TO_FLIP.slice(2),
      { type: 'FlipCommitted', at: AT, generation: 1 },
      { type: 'VerifyWindowPassed', at: AT },
    ]);
    assert.equal(state.step, 'standby');
    assert.deepEqual(kinds(effects).slice(-2), ['verify', 'release-lock']);
  });

  void it('stops the new instances and never flips when the smoke check fails', () => {
    const { state, effects } = run(start(), [
      ...UP_TO_FLIP.slice(0, 6),
      { type: 'SmokeFailed', at: AT, reason: 'GET / answered 500, expected 200' },
    ]);
    assert.equal(state.step, 'cleaning-up');
    assert.equal(state.outcome, 'failed');
    assert.match(state.reason ?? '', /smoke.*GET \/ answered 500/);
    assert.ok(!kinds(effects).includes('flip'));
    assert.deepEqual(kinds(effects).slice(-2), ['stop-instances', 'release-lock']);
    assert.equal(transition(state, { type: 'LockReleased', at: AT }).state.step, 'failed');
  });

  void it('does not stop anything when it fails before starting instances', () => {
    const { effects } = run(start(), [
      ...UP_TO_FLIP.slice(0, 2),
      { type: 'DriftRejected', at: AT, reason: 'DATABASE_URL differs' },
    ]);
    assert.deepEqual(kinds(effects).slice(-1), ['release-lock']);
    assert.ok(!kinds(effects).includes('stop-instances'));
  });

  void it('flips back to the old color exactly once when a probe fails', () => {
    const { state, effects } = run(start(), [
      ...UP_TO_FLIP,
      { type: 'FlipCommitted', at: AT, generation: 3 },
      { type: 'ProbeFailed', at: AT, reason: 'GET /healthz answered 502' },
    ]);
    assert.equal(state.step, 'rolling-back');
    assert.deepEqual(effects.at(-1), {
      kind: 'flip-back',
      to: 'blue',
      from: 'green',
      key: 'd1/rolling-back/flip-back',
      repeatable: false,
    });
    const done = run(state, [
      { type: 'FlipBackCommitted', at: AT, generation: 4 },
      { type: 'LockReleased', at: AT },
    ]);
    assert.equal(done.state.step, 'rolled-back');
    assert.equal(done.state.flipped, false);
    assert.deepEqual(kinds(done.effects), ['drain', 'stop-instances', 'release-lock']);
    assert.ok(done.effects.every((effect) => !('color' in effect) || effect.color === 'green'));
  });

  void it('keeps traffic on the new color when auto-rollback is off', () => {
    const { state, effects } = run(start(false), [
      ...UP_TO_FLIP,
      { type: 'FlipCommitted', at: AT, generation: 3 },
      { type: 'ProbeFailed', at: AT, reason: 'error rate 12% above 5%' },
    ]);
    assert.equal(state.step, 'cleaning-up');
    assert.match(state.reason ?? '', /auto-rollback is off, so traffic stays on green/);
    assert.deepEqual(kinds(effects).slice(-1), ['release-lock']);
  });

  void it('refuses a second acquisition with the holder named', () => {
    const { state } = run(start(), [{ type: 'LockRefused', at: AT, holder: 'deployment d0 (v1)' }]);
    assert.equal(state.step, 'failed');
    assert.equal(state.reason, 'shop is locked by deployment d0 (v1)');
    assert.deepEqual(resume(state), []);
  });

  void it('aborts before the flip by cleaning up, after it by flipping back, and refuses once live', () => {
    const before = run(start(), [
      ...UP_TO_FLIP.slice(0, 5),
      { type: 'AbortRequested', at: AT, by: 'alice' },
    ]);
    assert.equal(before.state.outcome, 'aborted');
    assert.deepEqual(kinds(before.effects).slice(-2), ['stop-instances', 'release-lock']);

    const during = run(start(), [
      ...UP_TO_FLIP,
      { type: 'AbortRequested', at: AT, by: 'alice' },
      { type: 'FlipCommitted', at: AT, generation: 2 },
    ]);
    assert.equal(during.state.step, 'rolling-back');
    assert.equal(during.state.outcome, 'aborted');
    assert.deepEqual(kinds(during.effects).slice(-2), ['flip', 'flip-back']);

    const live = run(start(), [
      ...UP_TO_FLIP,
      { type: 'FlipCommitted', at: AT, generation: 2 },
      { type: 'VerifyWindowPassed', at: AT },
    ]).state;
    assert.equal(
      refusal(() => transition(live, { type: 'AbortRequested', at: AT, by: 'alice' })),
      'CUTOVER_ERR_DEPLOY_ABORT_TOO_LATE',
    );
  });

  void it('refuses an event that does not apply, naming the step and what it waits for', () => {
    const state = run(start(), UP_TO_FLIP.slice(0, 3)).state;
    assert.throws(
      () => transition(state, { type: 'FlipCommitted', at: AT, generation: 1 }),
      (error: unknown) =>
        isCutoverError(error) &&
        error.code === 'CUTOVER_ERR_DEPLOY_INVALID_EVENT' &&
        /step "schema-check" and waits for SchemaChecked, SchemaRejected/.test(error.message),
    );
    assert.equal(
      refusal(() =>
        transition(run(start(), UP_TO_FLIP.slice(0, 1)).state, {
          type: 'IdleResolved',
          at: AT,
          live: 'green',
          idle: 'green',
        }),
      ),
      'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
    );
  });

  void it('refuses every event once the deployment has ended', () => {
    const ended = run(start(), [{ type: 'LockRefused', at: AT, holder: 'x' }]).state;
    assert.equal(
      refusal(() => transition(ended, { type: 'Resumed', at: AT })),
      'CUTOVER_ERR_DEPLOY_ENDED',
    );
  });

  void it('resumes with the same keys and retries a crashed flip instead of failing it', () => {
    const flipping = run(start(), UP_TO_FLIP).state;
    const emitted = transition(run(start(), UP_TO_FLIP.slice(0, -1)).state, UP_TO_FLIP.at(-1)!);
    const resumed = transition(flipping, { type: 'Resumed', at: AT });
    assert.deepEqual(resumed.effects, emitted.effects);
    assert.deepEqual(resume(flipping), emitted.effects);
    assert.equal(resumed.state.resumes, 1);
    const crashed = transition(flipping, { type: 'StepCrashed', at: AT, reason: 'EIO' });
    assert.equal(crashed.state.step, 'flipping');
    assert.deepEqual(crashed.effects, emitted.effects);
  });

  void it('replays its event log to the same state', () => {
    const events: DeploymentEvent[] = [
      ...UP_TO_FLIP,
      { type: 'Resumed', at: AT },
      { type: 'FlipCommitted', at: AT, generation: 2 },
    ];
    assert.deepEqual(replay(start(), events), run(start(), events).state);
  });
});
