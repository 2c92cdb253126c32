// The state of one deployment (DESIGN.md, "The deployment pipeline"). Pure data, persisted by
// the controller before the effects of each new step run, so a restart resumes from here.
import type { Strategy } from '../app-config.ts';
import type { Color } from '../types.ts';

/** A step of the pipeline that is still running; the name says what is under way. */
export type RunningStep =
  | 'locking'
  | 'resolving'
  | 'drift-check'
  | 'schema-check'
  | 'starting'
  | 'migrating'
  | 'smoke'
  | 'warmup'
  | 'shifting'
  | 'flipping'
  | 'verifying'
  | 'draining'
  | 'standby'
  | 'rolling-back'
  | 'cleaning-up';

/** How a deployment ended. */
export type Outcome = 'succeeded' | 'failed' | 'aborted' | 'rolled-back';

export type DeploymentStep = RunningStep | Outcome;

export const OUTCOMES: readonly Outcome[] = ['succeeded', 'failed', 'aborted', 'rolled-back'];

/** The steps before the flip, in pipeline order: a failure in any of them touches no traffic. */
export const PRE_FLIP_STEPS = [
  'resolving',
  'drift-check',
  'schema-check',
  'starting',
  'migrating',
  'smoke',
  'warmup',
] as const satisfies readonly RunningStep[];

export type PreFlipStep = (typeof PRE_FLIP_STEPS)[number];

/** One finished step, for per-step durations in history. */
export interface StepRecord {
  readonly step: DeploymentStep;
  /** ISO-8601 times taken from the events. */
  readonly startedAt: string;
  readonly endedAt: string;
}

export interface DeploymentState {
  readonly id: string;
  readonly app: string;
  readonly release: string;
  readonly step: DeploymentStep;
  /** The live color when the deployment resolved its target; null on an app's first deployment. */
  readonly from: Color | null;
  /** The idle color the release is deployed into; null until resolved. */
  readonly to: Color | null;
  /** Whether public traffic is on `to` because of this deployment (flip committed, not yet flipped back). */
  readonly flipped: boolean;
  /** Routing generation of this deployment's flip, once committed. */
  readonly flipGeneration: number | null;
  /** Whether instances of the release may exist in `to` (the start step was entered). */
  readonly instancesStarted: boolean;
  /** Flip back to `from` automatically when a probe fails in the verify window. */
  readonly autoRollback: boolean;
  /** An abort that arrived while the flip was being committed; honored once it is. */
  readonly abortRequested: boolean;
  // The shift fields (issue 5) are optional: states stored before them read as blue-green.
  /** How traffic moves to the release: one flip, or graded shares (canary, rolling) before it. */
  readonly strategy?: Strategy;
  /** The next step of the shift (canary step, rolling batch): a resume continues from here. */
  readonly shiftIndex?: number;
  /** Public traffic was shared with `to` (a split may have been applied): drain it before it stops. */
  readonly shared?: boolean;
  /** `cutover promote` arrived while shifting: the shift skips its remaining steps to the flip. */
  readonly promoteRequested?: boolean;
  /** Where a running `cleaning-up` step ends. */
  readonly outcome: Outcome | null;
  /** Why the deployment failed, was aborted or rolled back; null while all is well. */
  readonly reason: string | null;
  readonly startedAt: string;
  readonly stepStartedAt: string;
  readonly updatedAt: string;
  /** Number of events applied: the log length, for replay checks. */
  readonly eventCount: number;
  readonly resumes: number;
  readonly steps: readonly StepRecord[];
}

export interface NewDeployment {
  readonly id: string;
  readonly app: string;
  readonly release: string;
  /** ISO-8601 time the deployment was requested. */
  readonly requestedAt: string;
  readonly autoRollback?: boolean;
  /** Default `bluegreen`: today's single flip. */
  readonly strategy?: Strategy;
}

/** A new deployment, about to take the app's lock. */
export function createDeployment(input: NewDeployment): DeploymentState {
  return {
    id: input.id,
    app: input.app,
    release: input.release,
    step: 'locking',
    from: null,
    to: null,
    flipped: false,
    flipGeneration: null,
    instancesStarted: false,
    autoRollback: input.autoRollback ?? true,
    abortRequested: false,
    strategy: input.strategy ?? 'bluegreen',
    shiftIndex: 0,
    shared: false,
    promoteRequested: false,
    outcome: null,
    reason: null,
    startedAt: input.requestedAt,
    stepStartedAt: input.requestedAt,
    updatedAt: input.requestedAt,
    eventCount: 0,
    resumes: 0,
    steps: [],
  };
}

/** The deployment's strategy; a state stored before strategies existed is blue-green. */
export function strategyOf(state: DeploymentState): Strategy {
  return state.strategy ?? 'bluegreen';
}

export function isOutcome(step: DeploymentStep): step is Outcome {
  return (OUTCOMES as readonly string[]).includes(step);
}

export function isPreFlipStep(step: DeploymentStep): step is PreFlipStep {
  return (PRE_FLIP_STEPS as readonly string[]).includes(step);
}
