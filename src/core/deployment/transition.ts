// The deployment pipeline as a pure state machine: `transition(state, event)` gives the next
// state and the effects the controller runs after persisting it; `resume(state)` gives the
// effects to run again after a restart. No I/O and no clock: times come in the events.
import { CutoverError } from '../errors.ts';
import type { Color } from '../types.ts';
import { effectOf } from './deployment-effects.ts';
import type { Effect } from './deployment-effects.ts';
import type { DeploymentEvent, DeploymentEventType } from './deployment-events.ts';
import { isOutcome, isPreFlipStep, strategyOf } from './deployment-state.ts';
import type {
  DeploymentState,
  DeploymentStep,
  Outcome,
  PreFlipStep,
  RunningStep,
} from './deployment-state.ts';

export interface Transition {
  readonly state: DeploymentState;
  readonly effects: readonly Effect[];
}

type FlipStepOrder = PreFlipStep | 'flipping';

/** Each step before the flip: the event that passes it, the one that fails it, what comes next. */
const PRE_FLIP: Readonly<
  Record<PreFlipStep, { pass: DeploymentEventType; fail: DeploymentEventType; next: FlipStepOrder }>
> = {
  resolving: { pass: 'IdleResolved', fail: 'ResolveFailed', next: 'drift-check' },
  'drift-check': { pass: 'DriftChecked', fail: 'DriftRejected', next: 'schema-check' },
  'schema-check': { pass: 'SchemaChecked', fail: 'SchemaRejected', next: 'starting' },
  starting: { pass: 'InstancesHealthy', fail: 'InstancesUnhealthy', next: 'migrating' },
  migrating: { pass: 'MigrationsApplied', fail: 'MigrationFailed', next: 'smoke' },
  smoke: { pass: 'SmokePassed', fail: 'SmokeFailed', next: 'warmup' },
  warmup: { pass: 'WarmupCompleted', fail: 'WarmupFailed', next: 'flipping' },
};

const ALWAYS: readonly DeploymentEventType[] = ['AbortRequested', 'StepCrashed', 'Resumed'];

/** The events each running step accepts, for the refusal message. */
export const ACCEPTED_EVENTS: Readonly<Record<RunningStep, readonly DeploymentEventType[]>> = {
  locking: ['LockAcquired', 'LockRefused', ...ALWAYS],
  resolving: ['IdleResolved', 'ResolveFailed', ...ALWAYS],
  'drift-check': ['DriftChecked', 'DriftRejected', ...ALWAYS],
  'schema-check': ['SchemaChecked', 'SchemaRejected', ...ALWAYS],
  starting: ['InstancesHealthy', 'InstancesUnhealthy', ...ALWAYS],
  migrating: ['MigrationsApplied', 'MigrationFailed', ...ALWAYS],
  smoke: ['SmokePassed', 'SmokeFailed', ...ALWAYS],
  warmup: ['WarmupCompleted', 'WarmupFailed', ...ALWAYS],
  shifting: ['ShiftStepPassed', 'ShiftCompleted', 'ShiftFailed', 'PromoteRequested', ...ALWAYS],
  flipping: ['FlipCommitted', 'FlipFailed', ...ALWAYS],
  verifying: ['VerifyWindowPassed', 'ProbeFailed', ...ALWAYS],
  'rolling-back': ['FlipBackCommitted', 'SplitCleared', 'StepCrashed', 'Resumed'],
  draining: ['DrainCompleted', 'StepCrashed', 'Resumed'],
  standby: ['LockReleased', 'StepCrashed', 'Resumed'],
  'cleaning-up': ['LockReleased', 'StepCrashed', 'Resumed'],
};

function target(state: DeploymentState): Color {
  if (state.to === null) {
    throw new CutoverError(
      'CUTOVER_ERR_INTERNAL',
      `deployment ${state.id} is at step "${state.step}" without a resolved color`,
    );
  }
  return state.to;
}

/**
 * Whether the deployment shares traffic in steps before its flip. The first deployment of an
 * app has no live color to share with or compare against: it flips as blue-green does.
 */
export function shiftsTraffic(state: DeploymentState): boolean {
  return strategyOf(state) !== 'bluegreen' && state.from !== null;
}

/** The effects a step runs when it is entered, and again on a resume. */
export function stepEffects(state: DeploymentState): Effect[] {
  const step = state.step;
  if (isOutcome(step)) return [];
  const make = (body: Parameters<typeof effectOf>[2]): Effect => effectOf(state.id, step, body);
  switch (step) {
    case 'locking':
      return [make({ kind: 'acquire-lock' })];
    case 'resolving':
      return [make({ kind: 'resolve-idle' })];
    case 'drift-check':
      return [make({ kind: 'check-drift', color: target(state) })];
    case 'schema-check':
      return [make({ kind: 'check-schema', color: target(state) })];
    case 'starting':
      return [make({ kind: 'start-instances', color: target(state), release: state.release })];
    case 'migrating':
      return [make({ kind: 'migrate-expand', release: state.release })];
    case 'smoke':
      return [make({ kind: 'smoke', color: target(state) })];
    case 'warmup':
      return [make({ kind: 'warm-up', color: target(state) })];
    case 'shifting':
      return [make({ kind: 'shift', color: target(state) })];
    case 'flipping':
      return [make({ kind: 'flip', to: target(state), from: state.from })];
    case 'verifying':
      return [make({ kind: 'verify', color: target(state) })];
    case 'rolling-back':
      // Before the flip only a share of the traffic is on the new color: take it back at once.
      if (!state.flipped) return [make({ kind: 'clear-split', color: target(state) })];
      if (state.from === null) return [];
      return [make({ kind: 'flip-back', to: state.from, from: target(state) })];
    case 'draining':
      return state.from === null ? [] : [make({ kind: 'drain', color: state.from })];
    case 'standby': {
      // A rolling deployment replaced the old color's instances: nothing is left to keep warm.
      const kind = strategyOf(state) === 'rolling' ? 'retire-color' : 'keep-standby';
      return [
        ...(state.from === null ? [] : [make({ kind, color: state.from })]),
        make({ kind: 'release-lock' }),
      ];
    }
    case 'cleaning-up': {
      // Stop the new release only when no public traffic is on it; drain first if it served.
      const effects: Effect[] = [];
      if (state.instancesStarted && !state.flipped) {
        const color = target(state);
        if (state.flipGeneration !== null || state.shared === true) {
          effects.push(make({ kind: 'drain', color }));
        }
        effects.push(make({ kind: 'stop-instances', color }));
      }
      effects.push(make({ kind: 'release-lock' }));
      return effects;
    }
  }
}

/** The effects to run again after a restart: the current step's, with the same keys. */
export function resume(state: DeploymentState): Effect[] {
  return stepEffects(state);
}

function refuse(state: DeploymentState, event: DeploymentEvent): never {
  const step = state.step;
  if (isOutcome(step)) {
    throw new CutoverError(
      'CUTOVER_ERR_DEPLOY_ENDED',
      `deployment ${state.id} of ${state.app} has already ended (${step}); ${event.type} was ignored`,
      { deployment: state.id, step, event: event.type },
    );
  }
  throw new CutoverError(
    'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
    `deployment ${state.id} of ${state.app} is at step "${step}" and waits for ` +
      `${ACCEPTED_EVENTS[step].join(', ')}; ${event.type} does not apply there`,
    { deployment: state.id, step, event: event.type },
  );
}

function record(state: DeploymentState, event: DeploymentEvent): DeploymentState {
  return { ...state, updatedAt: event.at, eventCount: state.eventCount + 1 };
}

function enter(
  state: DeploymentState,
  event: DeploymentEvent,
  step: DeploymentStep,
  patch: Partial<DeploymentState> = {},
): Transition {
  const next: DeploymentState = {
    ...record(state, event),
    ...patch,
    step,
    stepStartedAt: event.at,
    instancesStarted: state.instancesStarted || step === 'starting',
    steps: [
      ...state.steps,
      { step: state.step, startedAt: state.stepStartedAt, endedAt: event.at },
    ],
  };
  return { state: next, effects: stepEffects(next) };
}

/** Stay in the step and run its effects again, with the same keys. */
function again(state: DeploymentState, event: DeploymentEvent): Transition {
  const next = record(state, event);
  return {
    state: event.type === 'Resumed' ? { ...next, resumes: next.resumes + 1 } : next,
    effects: stepEffects(next),
  };
}

function cleanUp(
  state: DeploymentState,
  event: DeploymentEvent,
  outcome: Outcome,
  reason: string,
): Transition {
  return enter(state, event, 'cleaning-up', { outcome, reason });
}

/** A probe failure or an abort after the flip: flip back to the old color when there is one. */
function afterFlipFailure(
  state: DeploymentState,
  event: DeploymentEvent,
  outcome: 'rolled-back' | 'aborted',
  reason: string,
): Transition {
  const from = state.from;
  if (from !== null && (outcome === 'aborted' || state.autoRollback)) {
    return enter(state, event, 'rolling-back', {
      outcome,
      reason: `${reason}; flipping back to ${from}`,
    });
  }
  const why = from === null ? 'there is no previous color' : 'auto-rollback is off';
  return cleanUp(
    state,
    event,
    outcome === 'aborted' ? 'aborted' : 'failed',
    `${reason}; ${why}, so traffic stays on ${target(state)}`,
  );
}

/** A failed or aborted shift: all public traffic back on the live color, the new one drained. */
function shiftFailure(
  state: DeploymentState,
  event: DeploymentEvent,
  outcome: 'rolled-back' | 'aborted',
  reason: string,
): Transition {
  return enter(state, event, 'rolling-back', {
    outcome,
    reason: `${reason}; all traffic back on ${state.from ?? 'the live color'}`,
  });
}

function reasonOf(event: DeploymentEvent): string {
  return 'reason' in event ? event.reason : event.type;
}

/**
 * Apply one event. Refuses (throws CutoverError) an event the current step does not accept,
 * leaving the state unchanged; the caller persists the returned state before running effects.
 */
export function transition(state: DeploymentState, event: DeploymentEvent): Transition {
  const step = state.step;
  if (isOutcome(step)) refuse(state, event);
  if (event.type === 'Resumed') return again(state, event);

  if (event.type === 'AbortRequested') {
    const reason = `aborted by ${event.by} at step "${step}"`;
    if (step === 'locking' || isPreFlipStep(step)) return cleanUp(state, event, 'aborted', reason);
    if (step === 'shifting') return shiftFailure(state, event, 'aborted', reason);
    if (step === 'flipping') {
      // The flip may already be committing: let it finish, then flip back (or clean up).
      return { state: { ...record(state, event), abortRequested: true, reason }, effects: [] };
    }
    if (step === 'verifying') return afterFlipFailure(state, event, 'aborted', reason);
    throw new CutoverError(
      'CUTOVER_ERR_DEPLOY_ABORT_TOO_LATE',
      step === 'draining' || step === 'standby'
        ? `deployment ${state.id} of ${state.app} is live on ${target(state)} (step "${step}"); use \`cutover rollback ${state.app}\` instead`
        : `deployment ${state.id} of ${state.app} is already ending (step "${step}")`,
      { deployment: state.id, step },
    );
  }

  if (event.type === 'StepCrashed') {
    if (step === 'locking' || isPreFlipStep(step)) {
      return cleanUp(state, event, 'failed', `step "${step}" crashed: ${event.reason}`);
    }
    if (step === 'verifying') {
      return afterFlipFailure(state, event, 'rolled-back', `verify crashed: ${event.reason}`);
    }
    if (step === 'shifting') {
      return shiftFailure(state, event, 'rolled-back', `the shift crashed: ${event.reason}`);
    }
    // Flipping, flipping back, draining and cleaning up must finish: retry with the same keys.
    return again(state, event);
  }

  if (isPreFlipStep(step)) {
    const rule = PRE_FLIP[step];
    if (event.type === rule.fail) {
      return cleanUp(state, event, 'failed', `step "${step}" failed: ${reasonOf(event)}`);
    }
    if (event.type !== rule.pass) refuse(state, event);
    if (step === 'warmup' && shiftsTraffic(state)) {
      // From here on public traffic may reach the new color: it is drained before it stops.
      return enter(state, event, 'shifting', { shared: true });
    }
    if (event.type === 'IdleResolved') {
      if (event.idle === event.live) {
        throw new CutoverError(
          'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
          `deployment ${state.id}: the idle color ${event.idle} cannot also be the live one`,
          { deployment: state.id, step, event: event.type },
        );
      }
      return enter(state, event, rule.next, { from: event.live, to: event.idle });
    }
    return enter(state, event, rule.next);
  }

  switch (step) {
    case 'locking':
      if (event.type === 'LockAcquired') return enter(state, event, 'resolving');
      if (event.type === 'LockRefused') {
        return enter(state, event, 'failed', {
          reason: `${state.app} is locked by ${event.holder}`,
        });
      }
      break;
    case 'shifting':
      if (event.type === 'ShiftStepPassed') {
        // The step is done; the shift effect runs again for the next one (same key).
        const next = {
          ...record(state, event),
          shiftIndex: Math.max(state.shiftIndex ?? 0, event.index + 1),
        };
        return { state: next, effects: stepEffects(next) };
      }
      if (event.type === 'ShiftCompleted') return enter(state, event, 'flipping');
      if (event.type === 'ShiftFailed') {
        return shiftFailure(
          state,
          event,
          'rolled-back',
          `the ${strategyOf(state)} shift failed: ${event.reason}`,
        );
      }
      if (event.type === 'PromoteRequested') {
        // The running shift effect sees it and ends with ShiftCompleted.
        return { state: { ...record(state, event), promoteRequested: true }, effects: [] };
      }
      break;
    case 'flipping':
      if (event.type === 'FlipCommitted') {
        const flipped = { ...state, flipped: true, flipGeneration: event.generation };
        if (state.abortRequested) {
          return afterFlipFailure(flipped, event, 'aborted', state.reason ?? 'aborted');
        }
        return enter(flipped, event, 'verifying');
      }
      if (event.type === 'FlipFailed') {
        if (state.shared === true) {
          // The shift left a share on the new color: take it back before cleaning up.
          const outcome = state.abortRequested ? 'aborted' : 'failed';
          return enter(state, event, 'rolling-back', {
            outcome,
            reason: `${state.abortRequested ? `${state.reason ?? 'aborted'}; ` : ''}the flip failed: ${event.reason}; all traffic back on ${state.from ?? 'the live color'}`,
          });
        }
        return state.abortRequested
          ? cleanUp(
              state,
              event,
              'aborted',
              `${state.reason ?? 'aborted'}; the flip failed: ${event.reason}`,
            )
          : cleanUp(state, event, 'failed', `the flip failed: ${event.reason}`);
      }
      break;
    case 'verifying':
      if (event.type === 'VerifyWindowPassed') {
        return enter(state, event, state.from === null ? 'standby' : 'draining');
      }
      if (event.type === 'ProbeFailed') {
        return afterFlipFailure(
          state,
          event,
          'rolled-back',
          `the switch window failed: ${event.reason}`,
        );
      }
      break;
    case 'rolling-back':
      if (event.type === 'FlipBackCommitted' && state.flipped)
        return enter(state, event, 'cleaning-up', { flipped: false });
      if (event.type === 'SplitCleared' && !state.flipped)
        return enter(state, event, 'cleaning-up');
      break;
    case 'draining':
      if (event.type === 'DrainCompleted') return enter(state, event, 'standby');
      break;
    case 'standby':
      if (event.type === 'LockReleased') return enter(state, event, 'succeeded');
      break;
    case 'cleaning-up':
      if (event.type === 'LockReleased') return enter(state, event, state.outcome ?? 'failed');
      break;
  }
  return refuse(state, event);
}

/** Fold an event log from a new deployment; the result is the live state (refusals throw). */
export function replay(
  initial: DeploymentState,
  events: readonly DeploymentEvent[],
): DeploymentState {
  return events.reduce((state, event) => transition(state, event).state, initial);
}
