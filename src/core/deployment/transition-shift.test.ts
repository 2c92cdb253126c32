// The `shifting` step (issue 5): canary and rolling deployments share traffic in steps before the
// flip; a failure or an abort there puts all traffic back on the live color at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCutoverError } from '../errors.ts';
import type { Strategy } from '../app-config.ts';
import type { Effect } from './deployment-effects.ts';
import type { DeploymentEvent } from './deployment-events.ts';
import { createDeployment } from './deployment-state.ts';
import type { DeploymentState } from './deployment-state.ts';
import { describeState } from './describe-state.ts';
import { replay, resume, transition } from './transition.ts';

const AT = '2026-11-26T10:00:00.000Z';

function start(strategy?: Strategy): DeploymentState {
  return createDeployment({
    id: 'd1',
    app: 'shop',
    release: 'v2',
    requestedAt: AT,
    ...(strategy === undefined ? {} : { strategy }),
  });
}

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

function upToWarmupEnd(live: 'blue' | null = 'blue'): DeploymentEvent[] {
  return [
    { type: 'LockAcquired', at: AT },
    { type: 'IdleResolved', at: AT, live, idle: 'green' },
    { type: 'DriftChecked', at: AT },
    { type: 'SchemaChecked', at: AT },
    { type: 'InstancesHealthy', at: AT },
    { type: 'MigrationsApplied', at: AT },
    { type: 'SmokePassed', at: AT },
    { type: 'WarmupCompleted', at: AT },
  ];
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isCutoverError(error));
    return error.code;
  }
  assert.fail('expected a refusal');
}

void describe('transition: shifting (canary, rolling)', () => {
  void it('keeps blue-green on its path: warm-up goes straight to the flip', () => {
    const { state, effects } = run(start(), upToWarmupEnd());
    assert.equal(state.step, 'flipping');
    assert.equal(state.strategy, 'bluegreen');
    assert.ok(!kinds(effects).includes('shift'));
  });

  void it('reads a state stored before strategies existed as blue-green', () => {
    const { strategy: _s, shiftIndex: _i, shared: _h, promoteRequested: _p, ...old } = start();
    const { state } = run(old, upToWarmupEnd());
    assert.equal(state.step, 'flipping');
  });

  void it('runs the canary steps one shift effect at a time, then flips and keeps a standby', () => {
    const { state, effects } = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'ShiftStepPassed', at: AT, index: 0, percent: 10 },
      { type: 'ShiftStepPassed', at: AT, index: 1, percent: 50 },
      { type: 'ShiftCompleted', at: AT },
      { type: 'FlipCommitted', at: AT, generation: 9 },
      { type: 'VerifyWindowPassed', at: AT },
      { type: 'DrainCompleted', at: AT },
      { type: 'LockReleased', at: AT },
    ]);
    assert.equal(state.step, 'succeeded');
    assert.deepEqual(kinds(effects), [
      'resolve-idle',
      'check-drift',
      'check-schema',
      'start-instances',
      'migrate-expand',
      'smoke',
      'warm-up',
      'shift',
      'shift',
      'shift',
      'flip',
      'verify',
      'drain',
      'keep-standby',
      'release-lock',
    ]);
    const shifts = effects.filter((effect) => effect.kind === 'shift');
    // One key for the whole shift: each run continues from the stored shiftIndex.
    assert.deepEqual(shifts[0], {
      kind: 'shift',
      color: 'green',
      key: 'd1/shifting/shift',
      repeatable: false,
    });
    assert.deepEqual(shifts[2], shifts[0]);
    assert.equal(state.shiftIndex, 2);
    assert.equal(state.shared, true);
    // The shift is one step in the history, however many canary steps it ran.
    assert.equal(state.steps.filter((record) => record.step === 'shifting').length, 1);
  });

  void it('a first deployment has no live color to share with: canary flips as blue-green', () => {
    const { state } = run(start('canary'), upToWarmupEnd(null));
    assert.equal(state.step, 'flipping');
    assert.equal(state.shared, false);
  });

  void it('records progress so a resume continues from the next step, with the same key', () => {
    const { state } = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'ShiftStepPassed', at: AT, index: 0, percent: 10 },
    ]);
    const reloaded = JSON.parse(JSON.stringify(state)) as DeploymentState;
    assert.equal(reloaded.shiftIndex, 1);
    assert.deepEqual(kinds(resume(reloaded)), ['shift']);
    const resumed = transition(reloaded, { type: 'Resumed', at: AT });
    assert.equal(resumed.state.step, 'shifting');
    assert.equal(resumed.state.shiftIndex, 1);
    assert.equal(resumed.effects[0]?.key, 'd1/shifting/shift');
    // A step reported twice (a resume raced it) never moves progress back.
    const again = transition(resumed.state, {
      type: 'ShiftStepPassed',
      at: AT,
      index: 0,
      percent: 10,
    });
    assert.equal(again.state.shiftIndex, 1);
  });

  void it('a failed step puts all traffic back at once, drains the canary, then stops it', () => {
    const failed = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'ShiftStepPassed', at: AT, index: 0, percent: 10 },
      { type: 'ShiftFailed', at: AT, reason: 'step 2 (50%): canary error rate 5.1% (51/1000)' },
    ]);
    assert.equal(failed.state.step, 'rolling-back');
    assert.equal(failed.state.outcome, 'rolled-back');
    assert.match(failed.state.reason ?? '', /canary shift failed: step 2 \(50%\).*back on blue/);
    assert.deepEqual(kinds(failed.effects).slice(-1), ['clear-split']);
    assert.deepEqual(failed.effects.at(-1), {
      kind: 'clear-split',
      color: 'green',
      key: 'd1/rolling-back/clear-split',
      repeatable: true,
    });
    assert.equal(
      codeOf(() => transition(failed.state, { type: 'FlipBackCommitted', at: AT, generation: 3 })),
      'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
    );
    const { state, effects } = run(failed.state, [
      { type: 'SplitCleared', at: AT },
      { type: 'LockReleased', at: AT },
    ]);
    assert.equal(state.step, 'rolled-back');
    assert.equal(state.flipped, false);
    assert.deepEqual(kinds(effects), ['drain', 'stop-instances', 'release-lock']);
    assert.ok(effects.every((effect) => !('color' in effect) || effect.color === 'green'));
  });

  void it('an abort while shifting is a failure with outcome aborted', () => {
    const { state, effects } = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'AbortRequested', at: AT, by: 'alice' },
      { type: 'SplitCleared', at: AT },
      { type: 'LockReleased', at: AT },
    ]);
    assert.equal(state.step, 'aborted');
    assert.match(
      state.reason ?? '',
      /aborted by alice at step "shifting"; all traffic back on blue/,
    );
    assert.deepEqual(kinds(effects).slice(-4), [
      'clear-split',
      'drain',
      'stop-instances',
      'release-lock',
    ]);
  });

  void it('a crash of the shift effect rolls back rather than retrying with traffic shared', () => {
    const { state } = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'StepCrashed', at: AT, reason: 'the router went away' },
    ]);
    assert.equal(state.step, 'rolling-back');
    assert.equal(state.outcome, 'rolled-back');
  });

  void it('promote is stored while shifting and refused anywhere else', () => {
    const shifting = run(start('canary'), upToWarmupEnd()).state;
    const promoted = transition(shifting, { type: 'PromoteRequested', at: AT, by: 'bob' });
    assert.equal(promoted.state.step, 'shifting');
    assert.equal(promoted.state.promoteRequested, true);
    // The running shift effect sees it: nothing new runs.
    assert.deepEqual(promoted.effects, []);
    assert.match(describeState(promoted.state).line, /promoted, on to the flip to green/);
    const smoke = run(start('canary'), upToWarmupEnd().slice(0, 6)).state;
    assert.equal(
      codeOf(() => transition(smoke, { type: 'PromoteRequested', at: AT, by: 'bob' })),
      'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
    );
  });

  void it('a failed flip after a shift takes the share back before cleaning up', () => {
    const { state, effects } = run(start('canary'), [
      ...upToWarmupEnd(),
      { type: 'ShiftCompleted', at: AT },
      { type: 'FlipFailed', at: AT, reason: 'the store is read-only' },
      { type: 'SplitCleared', at: AT },
      { type: 'LockReleased', at: AT },
    ]);
    assert.equal(state.step, 'failed');
    assert.match(state.reason ?? '', /the flip failed: the store is read-only/);
    assert.deepEqual(kinds(effects).slice(-4), [
      'clear-split',
      'drain',
      'stop-instances',
      'release-lock',
    ]);
  });

  void it('rolling keeps no standby: the old color is retired after the flip', () => {
    const events: DeploymentEvent[] = [
      ...upToWarmupEnd(),
      { type: 'ShiftStepPassed', at: AT, index: 0, percent: 50 },
      { type: 'ShiftCompleted', at: AT },
      { type: 'FlipCommitted', at: AT, generation: 4 },
      { type: 'VerifyWindowPassed', at: AT },
      { type: 'DrainCompleted', at: AT },
      { type: 'LockReleased', at: AT },
    ];
    const { state, effects } = run(start('rolling'), events);
    assert.equal(state.step, 'succeeded');
    assert.deepEqual(kinds(effects).slice(-2), ['retire-color', 'release-lock']);
    assert.deepEqual(effects.at(-2), {
      kind: 'retire-color',
      color: 'blue',
      key: 'd1/standby/retire-color',
      repeatable: true,
    });
    assert.deepEqual(replay(start('rolling'), events), state);
  });
});
