// A stored deployment as the admin API shows it (api-types.ts DeploymentView).
import type { DeploymentStepView, DeploymentView } from '../client/api-types.ts';
import { isOutcome, strategyOf } from '../core/deployment/deployment-state.ts';
import type { DeploymentRecord } from '../ports/state-store.ts';

function durationOf(startedAt: string, endedAt: string): number {
  return Math.max(0, Date.parse(endedAt) - Date.parse(startedAt));
}

export function toDeploymentView(
  record: DeploymentRecord,
  waitingFor: string | null = null,
): DeploymentView {
  const { state } = record;
  const ended = isOutcome(state.step);
  const steps: DeploymentStepView[] = state.steps
    // The first record is the moment between the request and the lock: not a step of its own.
    .filter((step) => step.step !== 'locking' || durationOf(step.startedAt, step.endedAt) > 0)
    .map((step) => ({
      step: step.step,
      startedAt: step.startedAt,
      endedAt: step.endedAt,
      durationMs: durationOf(step.startedAt, step.endedAt),
    }));
  if (!ended) {
    steps.push({
      step: state.step,
      startedAt: state.stepStartedAt,
      endedAt: null,
      durationMs: null,
    });
  }
  return {
    id: state.id,
    app: state.app,
    release: state.release,
    step: state.step,
    ended,
    outcome: isOutcome(state.step) ? state.step : null,
    reason: state.reason,
    from: state.from,
    to: state.to,
    flipped: state.flipped,
    strategy: strategyOf(state),
    ...(state.shiftIndex === undefined ? {} : { shiftIndex: state.shiftIndex }),
    waitingFor: ended ? null : waitingFor,
    requestedBy: record.requestedBy,
    startedAt: state.startedAt,
    updatedAt: state.updatedAt,
    endedAt: ended ? state.stepStartedAt : null,
    resumes: state.resumes,
    steps,
    report: record.report,
  };
}
