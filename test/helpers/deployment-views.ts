// DeploymentView samples for the CLI's unit tests: steps placed in time after DEPLOYMENT_T0.
import type { DeploymentStepView, DeploymentView } from '../../src/client/api-types.ts';

export const DEPLOYMENT_T0 = '2026-11-26T12:00:00.000Z';
const T0 = Date.parse(DEPLOYMENT_T0);

/** A step from `startMs` to `endMs` after T0 (null end: still running). */
export function step(name: string, startMs: number, endMs: number | null): DeploymentStepView {
  return {
    step: name as DeploymentStepView['step'],
    startedAt: new Date(T0 + startMs).toISOString(),
    endedAt: endMs === null ? null : new Date(T0 + endMs).toISOString(),
    durationMs: endMs === null ? null : endMs - startMs,
  };
}

export function view(patch: Partial<DeploymentView>): DeploymentView {
  return {
    id: 'd-1',
    app: 'shop',
    release: 'v2',
    step: 'starting',
    ended: false,
    outcome: null,
    reason: null,
    from: 'blue',
    to: 'green',
    flipped: false,
    waitingFor: null,
    requestedBy: 'cli',
    startedAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    endedAt: null,
    resumes: 0,
    steps: [],
    report: {},
    ...patch,
  };
}
