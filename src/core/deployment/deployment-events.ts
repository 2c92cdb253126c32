// What the controller reports to the state machine, past tense. Every event carries the time it
// happened (`at`, ISO-8601) so the core never reads a clock.
import type { Color } from '../types.ts';

interface At {
  readonly at: string;
}
interface Because extends At {
  readonly reason: string;
}

export type DeploymentEvent =
  | ({ readonly type: 'LockAcquired' } & At)
  | ({ readonly type: 'LockRefused'; readonly holder: string } & At)
  | ({ readonly type: 'IdleResolved'; readonly live: Color | null; readonly idle: Color } & At)
  | ({ readonly type: 'ResolveFailed' } & Because)
  | ({ readonly type: 'DriftChecked' } & At)
  | ({ readonly type: 'DriftRejected' } & Because)
  | ({ readonly type: 'SchemaChecked' } & At)
  | ({ readonly type: 'SchemaRejected' } & Because)
  | ({ readonly type: 'InstancesHealthy' } & At)
  | ({ readonly type: 'InstancesUnhealthy' } & Because)
  | ({ readonly type: 'MigrationsApplied' } & At)
  | ({ readonly type: 'MigrationFailed' } & Because)
  | ({ readonly type: 'SmokePassed' } & At)
  | ({ readonly type: 'SmokeFailed' } & Because)
  | ({ readonly type: 'WarmupCompleted' } & At)
  | ({ readonly type: 'WarmupFailed' } & Because)
  /** A canary step (or rolling batch) passed its analysis; `index` counts from 0. */
  | ({ readonly type: 'ShiftStepPassed'; readonly index: number; readonly percent: number } & At)
  /** Every step passed, or a promote skipped the rest: on to the flip. */
  | ({ readonly type: 'ShiftCompleted' } & At)
  | ({ readonly type: 'ShiftFailed' } & Because)
  | ({ readonly type: 'PromoteRequested'; readonly by: string } & At)
  /** The share on the new color was removed: all public traffic is on the live color again. */
  | ({ readonly type: 'SplitCleared' } & At)
  | ({ readonly type: 'FlipCommitted'; readonly generation: number } & At)
  | ({ readonly type: 'FlipFailed' } & Because)
  | ({ readonly type: 'VerifyWindowPassed' } & At)
  | ({ readonly type: 'ProbeFailed' } & Because)
  | ({ readonly type: 'FlipBackCommitted'; readonly generation: number } & At)
  | ({ readonly type: 'DrainCompleted' } & At)
  | ({ readonly type: 'LockReleased' } & At)
  | ({ readonly type: 'AbortRequested'; readonly by: string } & At)
  /** An effect of the current step threw: a failure before the flip, a retry where a retry is safe. */
  | ({ readonly type: 'StepCrashed' } & Because)
  /** The controller restarted and picked this deployment up again. */
  | ({ readonly type: 'Resumed' } & At);

export type DeploymentEventType = DeploymentEvent['type'];
