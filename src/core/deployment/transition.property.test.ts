// Property tests of the deployment state machine: random event sequences, valid and not, with
// crashes (persist, reload from JSON, resume) at any point, then a run to the end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isCutoverError } from '../errors.ts';
import { otherColor } from '../types.ts';
import type { Color } from '../types.ts';
import type { Effect } from './deployment-effects.ts';
import type { DeploymentEvent, DeploymentEventType } from './deployment-events.ts';
import { createDeployment, isOutcome, isPreFlipStep } from './deployment-state.ts';
import type { DeploymentState, RunningStep } from './deployment-state.ts';
import { ACCEPTED_EVENTS, replay, resume, transition } from './transition.ts';

const EVENT_TYPES: readonly DeploymentEventType[] = [
  ...new Set(Object.values(ACCEPTED_EVENTS).flat()),
];

/** The event that moves each running step forward, to finish a run. */
const FORWARD: Readonly<Record<RunningStep, DeploymentEventType>> = {
  locking: 'LockAcquired',
  resolving: 'IdleResolved',
  'drift-check': 'DriftChecked',
  'schema-check': 'SchemaChecked',
  starting: 'InstancesHealthy',
  migrating: 'MigrationsApplied',
  smoke: 'SmokePassed',
  warmup: 'WarmupCompleted',
  shifting: 'ShiftStepPassed',
  flipping: 'FlipCommitted',
  verifying: 'VerifyWindowPassed',
  'rolling-back': 'FlipBackCommitted',
  draining: 'DrainCompleted',
  standby: 'LockReleased',
  'cleaning-up': 'LockReleased',
};

/** The forward event of the state's step: a shift ends after three steps; a flip back, or a cleared split before the flip. */
function forward(state: DeploymentState): DeploymentEventType {
  if (state.step === 'shifting' && (state.shiftIndex ?? 0) >= 3) return 'ShiftCompleted';
  if (state.step === 'rolling-back' && !state.flipped) return 'SplitCleared';
  return FORWARD[state.step as RunningStep];
}

const REFUSAL_CODES = new Set([
  'CUTOVER_ERR_DEPLOY_INVALID_EVENT',
  'CUTOVER_ERR_DEPLOY_ENDED',
  'CUTOVER_ERR_DEPLOY_ABORT_TOO_LATE',
]);

type Action =
  | { readonly kind: 'forward' }
  | { readonly kind: 'valid'; readonly pick: number }
  | { readonly kind: 'any'; readonly pick: number }
  | { readonly kind: 'crash' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 30, arbitrary: fc.constant({ kind: 'forward' } as const) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ kind: 'valid', pick }) as const) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'any', pick }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' } as const) },
);

/** The outside world as the effects leave it: which color serves public traffic. */
interface World {
  live: Color | null;
  readonly initialLive: Color | null;
  generation: number;
  clockMs: number;
  /** Canary steps passed so far. */
  shiftSteps: number;
  /** Whether a share of public traffic is on the new color (a shift step ran, not cleared). */
  split: boolean;
}

function makeEvent(type: DeploymentEventType, world: World, idlePick: Color): DeploymentEvent {
  world.clockMs += 1000;
  const at = new Date(world.clockMs).toISOString();
  switch (type) {
    case 'LockRefused':
      return { type, at, holder: 'deployment d0' };
    case 'IdleResolved':
      return {
        type,
        at,
        live: world.live,
        idle: world.live === null ? idlePick : otherColor(world.live),
      };
    case 'FlipCommitted':
    case 'FlipBackCommitted':
      world.generation += 1;
      return { type, at, generation: world.generation };
    case 'AbortRequested':
    case 'PromoteRequested':
      return { type, at, by: 'alice' };
    case 'ShiftStepPassed':
      world.shiftSteps += 1;
      return {
        type,
        at,
        index: world.shiftSteps - 1,
        percent: Math.min(100, world.shiftSteps * 10),
      };
    case 'ResolveFailed':
    case 'DriftRejected':
    case 'SchemaRejected':
    case 'InstancesUnhealthy':
    case 'MigrationFailed':
    case 'SmokeFailed':
    case 'WarmupFailed':
    case 'FlipFailed':
    case 'ProbeFailed':
    case 'ShiftFailed':
    case 'StepCrashed':
      return { type, at, reason: `${type} in test` };
    default:
      return { type, at };
  }
}

interface Trace {
  state: DeploymentState;
  readonly initial: DeploymentState;
  readonly accepted: DeploymentEvent[];
  /** Every effect emitted, in order, by transitions and resumes. */
  readonly effects: Effect[];
  readonly world: World;
  /** True once a failure was accepted before any flip was committed. */
  failedBeforeFlip: boolean;
  flipCommitted: boolean;
  probeFailedAfterFlip: boolean;
  shiftFailed: boolean;
}

function checkEffects(trace: Trace, emitted: readonly Effect[]): void {
  for (const effect of emitted) {
    // The traffic never leaves the one color that serves: nothing drains or stops it.
    if (effect.kind === 'drain' || effect.kind === 'stop-instances') {
      assert.notEqual(effect.color, trace.world.live, `${effect.kind} of the live color`);
    }
    // One key names one side effect: every emission under a key is the same effect.
    const earlier = trace.effects.find((other) => other.key === effect.key);
    if (earlier !== undefined) assert.deepEqual(effect, earlier);
    if (effect.kind === 'flip') {
      assert.ok(!trace.failedBeforeFlip, 'flip after a pre-flip failure');
      assert.ok(!trace.shiftFailed, 'flip after a failed shift');
    }
    // A share of traffic is only ever put on the new color before its flip.
    if (effect.kind === 'shift') {
      assert.ok(!trace.flipCommitted, 'shift after the flip');
      assert.notEqual(trace.state.strategy ?? 'bluegreen', 'bluegreen');
      trace.world.split = true;
    }
    if (effect.kind === 'clear-split') {
      assert.ok(!trace.flipCommitted, 'clear-split after the flip');
      trace.world.split = false;
    }
    if (effect.kind === 'flip-back') {
      assert.ok(trace.flipCommitted, 'flip-back without a committed flip');
      assert.equal(effect.to, trace.world.initialLive);
    }
    trace.effects.push(effect);
  }
}

function apply(trace: Trace, event: DeploymentEvent): boolean {
  const before = trace.state;
  let result;
  try {
    result = transition(before, event);
  } catch (error) {
    assert.ok(isCutoverError(error), String(error));
    assert.ok(REFUSAL_CODES.has(error.code), error.code);
    assert.equal(trace.state, before);
    return false;
  }
  if (isOutcome(before.step)) assert.fail(`ended deployment accepted ${event.type}`);
  trace.accepted.push(event);
  trace.state = result.state;
  const afterFailure = result.state.step === 'cleaning-up' || result.state.step === 'failed';
  if ((before.step === 'locking' || isPreFlipStep(before.step)) && afterFailure) {
    trace.failedBeforeFlip = true;
  }
  if (event.type === 'FlipCommitted') {
    trace.flipCommitted = true;
    trace.world.live = before.to;
  }
  if (event.type === 'FlipBackCommitted') trace.world.live = before.from;
  if (event.type === 'ProbeFailed') trace.probeFailedAfterFlip = true;
  if (before.step === 'shifting' && result.state.step === 'rolling-back') trace.shiftFailed = true;
  // The flip moves all traffic: no share survives it.
  if (event.type === 'FlipCommitted') trace.world.split = false;
  checkEffects(trace, result.effects);
  return true;
}

/** A daemon crash: only the persisted state survives (through JSON), then the controller resumes. */
function crash(trace: Trace): void {
  const reloaded = JSON.parse(JSON.stringify(trace.state)) as DeploymentState;
  assert.deepEqual(reloaded, trace.state);
  trace.state = reloaded;
  const effects = resume(reloaded);
  if (isOutcome(reloaded.step)) {
    assert.deepEqual(effects, []);
    return;
  }
  checkEffects(trace, effects);
  assert.ok(apply(trace, { type: 'Resumed', at: new Date(trace.world.clockMs).toISOString() }));
}

const scenarioArb = fc.record({
  initialLive: fc.constantFrom<Color | null>(null, 'blue', 'green'),
  idlePick: fc.constantFrom<Color>('blue', 'green'),
  autoRollback: fc.boolean(),
  strategy: fc.constantFrom<'bluegreen' | 'canary' | 'rolling'>('bluegreen', 'canary', 'rolling'),
  // One step where the run takes another way than forward (a failure, an abort, a crash...).
  detourStep: fc.constantFrom<RunningStep | null>(null, ...(Object.keys(FORWARD) as RunningStep[])),
  detourPick: fc.nat(),
  actions: fc.array(actionArb, { maxLength: 40 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function runScenario(scenario: Scenario): Trace {
  const initial = createDeployment({
    id: 'd1',
    app: 'shop',
    release: 'v2',
    requestedAt: '2026-11-26T10:00:00.000Z',
    autoRollback: scenario.autoRollback,
    strategy: scenario.strategy,
  });
  const world: World = {
    live: scenario.initialLive,
    initialLive: scenario.initialLive,
    generation: 10,
    clockMs: Date.parse('2026-11-26T10:00:00.000Z'),
    shiftSteps: 0,
    split: false,
  };
  const trace: Trace = {
    state: initial,
    initial,
    accepted: [],
    effects: [],
    world,
    failedBeforeFlip: false,
    flipCommitted: false,
    probeFailedAfterFlip: false,
    shiftFailed: false,
  };
  checkEffects(trace, resume(initial));
  let detoured = false;
  const detour = (step: RunningStep): DeploymentEventType => {
    detoured = true;
    const choices = ACCEPTED_EVENTS[step];
    return choices[scenario.detourPick % choices.length]!;
  };
  for (const action of scenario.actions) {
    if (action.kind === 'crash') {
      crash(trace);
      continue;
    }
    const step = trace.state.step;
    let type: DeploymentEventType;
    if (
      action.kind === 'forward' &&
      !isOutcome(step) &&
      step === scenario.detourStep &&
      !detoured
    ) {
      type = detour(step);
    } else if (action.kind === 'forward') {
      type = isOutcome(step) ? 'Resumed' : forward(trace.state);
    } else {
      const choices =
        isOutcome(step) || action.kind === 'any' ? EVENT_TYPES : ACCEPTED_EVENTS[step];
      type = choices[action.pick % choices.length]!;
    }
    apply(trace, makeEvent(type, world, scenario.idlePick));
    // Every accepted state is the replay of the accepted log.
    assert.deepEqual(replay(initial, trace.accepted), trace.state);
  }
  // Run to the end: the forward event of each step, with at most one crash more.
  for (let guard = 0; guard < 40 && !isOutcome(trace.state.step); guard += 1) {
    const step = trace.state.step;
    const detouring = step === scenario.detourStep && !detoured;
    const type = detouring ? detour(step) : forward(trace.state);
    // A detour may pick an event the step refuses in this state (a flip back before any flip).
    const accepted = apply(trace, makeEvent(type, world, scenario.idlePick));
    assert.ok(accepted || detouring, `${step} refused its forward event ${type}`);
    if (guard === 3) crash(trace);
  }
  return trace;
}

void describe('deployment state machine properties', () => {
  void it('keeps every invariant over random event sequences with crashes and resumes', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const trace = runScenario(scenario);
        const { state, world, effects } = trace;
        assert.ok(isOutcome(state.step), `did not end: ${state.step}`);
        seen.add(state.step);
        if (trace.probeFailedAfterFlip) seen.add('probe failed');
        if (trace.failedBeforeFlip) seen.add('failed before flip');
        if (trace.shiftFailed) seen.add('shift failed');
        if (effects.some((effect) => effect.kind === 'shift') && state.step === 'succeeded') {
          seen.add('shifted then succeeded');
        }

        // Terminal states emit nothing and accept nothing.
        assert.deepEqual(resume(state), []);
        for (const type of EVENT_TYPES) {
          assert.throws(() => transition(state, makeEvent(type, world, 'blue')));
        }

        // At most one flip and one flip-back per deployment, and a flip-back only follows a flip.
        const keysOf = (kind: Effect['kind']): Set<string> =>
          new Set(effects.filter((effect) => effect.kind === kind).map((effect) => effect.key));
        assert.ok(keysOf('flip').size <= 1);
        assert.ok(keysOf('flip-back').size <= 1);
        // Once-only effects have one key each for the whole run, however often it resumed.
        assert.ok(keysOf('start-instances').size <= 1);
        assert.ok(keysOf('migrate-expand').size <= 1);

        // A failure before the flip never flips; the old color still serves.
        if (trace.failedBeforeFlip) {
          assert.equal(keysOf('flip').size, 0);
          assert.equal(world.live, world.initialLive);
        }

        // A failed probe after the flip, with auto-rollback and an old color: exactly one
        // flip-back, to the old color, which serves at the end.
        if (trace.probeFailedAfterFlip && state.autoRollback && world.initialLive !== null) {
          assert.equal(keysOf('flip-back').size, 1);
          assert.equal(state.step, 'rolled-back');
          assert.equal(world.live, world.initialLive);
        }

        // A failed or aborted shift never flips: all traffic is back on the old color, whose
        // share was cleared, and the new color was drained before its instances stopped.
        if (trace.shiftFailed) {
          assert.equal(keysOf('flip').size, 0);
          assert.equal(world.live, world.initialLive);
          assert.equal(keysOf('clear-split').size, 1);
          assert.ok(keysOf('drain').size >= 1);
          assert.ok(['rolled-back', 'aborted'].includes(state.step), state.step);
        }
        // Never split at the end: a share is cleared or flipped away on every path.
        assert.equal(world.split, false, 'a traffic share survived the deployment');
        // Blue-green never shifts; a canary or rolling deployment onto a live app shifts before it flips.
        if ((state.strategy ?? 'bluegreen') === 'bluegreen' || world.initialLive === null) {
          assert.equal(keysOf('shift').size, 0);
        }
        if (
          keysOf('flip').size === 1 &&
          world.initialLive !== null &&
          state.strategy !== 'bluegreen'
        ) {
          assert.equal(keysOf('shift').size, 1);
        }
        // A rolling deployment keeps no standby: the old color is retired instead.
        if (state.step === 'succeeded' && world.initialLive !== null) {
          assert.equal(keysOf('retire-color').size, state.strategy === 'rolling' ? 1 : 0);
          assert.equal(keysOf('keep-standby').size, state.strategy === 'rolling' ? 0 : 1);
        }

        // A consistent end: all traffic on one color, the one the outcome implies.
        if (state.step === 'succeeded') assert.equal(world.live, state.to);
        if (state.step === 'rolled-back') assert.equal(world.live, state.from);
        assert.equal(world.live, state.flipped ? state.to : world.initialLive);
        // Instances of the release are stopped unless they serve.
        if (state.instancesStarted && !state.flipped) {
          assert.ok(keysOf('stop-instances').size === 1 || state.step === 'succeeded');
        }
        // The lock is released on every path that took it.
        if (state.steps.some((record) => record.step === 'resolving')) {
          assert.equal(keysOf('release-lock').size, 1);
        }
      }),
      { numRuns: 2000 },
    );
    // The generator must reach every ending, or the properties above prove little.
    assert.deepEqual([...seen].sort(), [
      'aborted',
      'failed',
      'failed before flip',
      'probe failed',
      'rolled-back',
      'shift failed',
      'shifted then succeeded',
      'succeeded',
    ]);
  });
});
