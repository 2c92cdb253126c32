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
  flipping: 'FlipCommitted',
  verifying: 'VerifyWindowPassed',
  'rolling-back': 'FlipBackCommitted',
  draining: 'DrainCompleted',
  standby: 'LockReleased',
  'cleaning-up': 'LockReleased',
};

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
      return { type, at, by: 'alice' };
    case 'ResolveFailed':
    case 'DriftRejected':
    case 'SchemaRejected':
    case 'InstancesUnhealthy':
    case 'MigrationFailed':
    case 'SmokeFailed':
    case 'WarmupFailed':
    case 'FlipFailed':
    case 'ProbeFailed':
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
    if (effect.kind === 'flip') assert.ok(!trace.failedBeforeFlip, 'flip after a pre-flip failure');
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
  });
  const world: World = {
    live: scenario.initialLive,
    initialLive: scenario.initialLive,
    generation: 10,
    clockMs: Date.parse('2026-11-26T10:00:00.000Z'),
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
      type = isOutcome(step) ? 'Resumed' : FORWARD[step];
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
  for (let guard = 0; guard < 30 && !isOutcome(trace.state.step); guard += 1) {
    const step = trace.state.step;
    const type = step === scenario.detourStep && !detoured ? detour(step) : FORWARD[step];
    assert.ok(apply(trace, makeEvent(type, world, scenario.idlePick)));
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
      'succeeded',
    ]);
  });
});
