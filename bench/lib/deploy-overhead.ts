// Splits a finished deployment's time into the app's and cutover's own (QUALITY.md `deploy`:
// cutover's overhead is the total minus app start, smoke and warm-up). The app's time is every
// step that waits on the app or on a configured duration:
// - starting: spawning the instances and their health checks (rise x interval is configured);
// - smoke: the app answering the configured checks;
// - warmup: the configured requests to the idle color;
// - verifying: the configured probe window through the public listener (a wait, like warm-up);
// - draining: the old color's in-flight requests finishing.
// Everything else (locking, resolving, the drift and schema checks, migrating with no
// migrations, the flip, entering standby, and the gaps between steps) is cutover's own.
import type { DeploymentView } from '../../src/client/api-types.ts';

export const APP_STEPS = ['starting', 'smoke', 'warmup', 'verifying', 'draining'] as const;

export interface DeployTimes {
  /** From the deployment's start to its end, by the daemon's clock. */
  readonly totalMs: number;
  /** Summed duration of each step name (a resumed step counts every run). */
  readonly steps: Readonly<Record<string, number>>;
  readonly appMs: number;
  readonly overheadMs: number;
}

/** The times of an ended deployment; throws on one that has not ended. */
export function deployTimes(view: DeploymentView): DeployTimes {
  if (!view.ended || view.endedAt === null) {
    throw new Error(`deployment ${view.id} has not ended (step ${view.step})`);
  }
  const totalMs = Date.parse(view.endedAt) - Date.parse(view.startedAt);
  const steps: Record<string, number> = {};
  for (const step of view.steps) {
    const ms =
      step.durationMs ??
      (step.endedAt === null ? 0 : Date.parse(step.endedAt) - Date.parse(step.startedAt));
    steps[step.step] = (steps[step.step] ?? 0) + ms;
  }
  const appMs = APP_STEPS.reduce((sum, name) => sum + (steps[name] ?? 0), 0);
  return { totalMs, steps, appMs, overheadMs: totalMs - appMs };
}
