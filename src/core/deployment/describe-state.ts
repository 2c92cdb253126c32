// One status line per deployment step: where it is, for how long, and what it waits for. The
// caller passes the current time (it has the clock); without it the line leaves time out.
import { strategyOf } from './deployment-state.ts';
import type { DeploymentState } from './deployment-state.ts';

export interface StateDescription {
  readonly step: DeploymentState['step'];
  /** Milliseconds since the step started, when the caller gave the current time. */
  readonly stepElapsedMs: number | null;
  /** What the step waits for; null once the deployment has ended. */
  readonly waitingFor: string | null;
  /** A plain status line, e.g. `shop v2: smoke (smoke checks against green via the preview listener)`. */
  readonly line: string;
}

function waitingFor(state: DeploymentState): string | null {
  const to = state.to ?? 'the idle color';
  const from = state.from ?? 'the previous color';
  switch (state.step) {
    case 'locking':
      return `the lock on ${state.app}`;
    case 'resolving':
      return 'the idle color to be resolved';
    case 'drift-check':
      return `the config drift check of ${state.release} against the live release`;
    case 'schema-check':
      return 'the migration lint and shadow compatibility checks';
    case 'starting':
      return `the instances of ${state.release} on ${to} to pass their health checks`;
    case 'migrating':
      return 'the expand migrations';
    case 'smoke':
      return `smoke checks against ${to} via the preview listener`;
    case 'warmup':
      return `warm-up requests to ${to}`;
    case 'shifting':
      return state.promoteRequested === true
        ? `the ${strategyOf(state)} shift to end: promoted, on to the flip to ${to}`
        : `the ${strategyOf(state)} shift to ${to}: step ${(state.shiftIndex ?? 0) + 1} (a share of public traffic on ${to}, judged before the next)`;
    case 'flipping':
      return state.abortRequested
        ? `the flip to ${to} to commit (an abort is pending: it will flip back)`
        : `the flip to ${to} to commit`;
    case 'verifying':
      return `the verify window: probes through the public listener to ${to}`;
    case 'draining':
      return `in-flight requests on ${from} to finish`;
    case 'standby':
      return `the lock to be released (${from} stays warm for rollback)`;
    case 'rolling-back':
      return state.flipped
        ? `the flip back to ${from}`
        : `all public traffic back on ${from} (the share on ${to} removed)`;
    case 'cleaning-up':
      return `the clean-up before ending as ${state.outcome ?? 'failed'}`;
    case 'succeeded':
    case 'failed':
    case 'aborted':
    case 'rolled-back':
      return null;
  }
}

/** `now` is an ISO-8601 time; the elapsed time is shown only for a running step. */
export function describeState(state: DeploymentState, now?: string): StateDescription {
  const waiting = waitingFor(state);
  const elapsed = Date.parse(now ?? '') - Date.parse(state.stepStartedAt);
  const stepElapsedMs = waiting === null || !Number.isFinite(elapsed) ? null : Math.max(0, elapsed);
  let head = `${state.app} ${state.release}: ${state.step}`;
  if (stepElapsedMs !== null) head += ` ${(stepElapsedMs / 1000).toFixed(1)} s`;
  let line = waiting === null ? head : `${head} (waiting for ${waiting})`;
  if (state.reason !== null) line += ` - ${state.reason}`;
  return { step: state.step, stepElapsedMs, waitingFor: waiting, line };
}
