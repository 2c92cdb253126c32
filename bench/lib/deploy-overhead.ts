// Splits a finished deployment's time into the app's and cutover's own (QUALITY.md `deploy`:
// cutover's overhead is the total minus app start, smoke and warm-up). The app's time is what
// the deployment's report measured of the work that waits on the app or on a configured
// duration, not the whole steps around it:
// - start: spawning the instances to every one passing its health checks (rise x interval is
//   configured), `report.start.healthyMs`;
// - smoke: the app answering the configured checks, `report.smoke.durationMs`;
// - warm-up: the configured requests to the idle color, `report.warmup.durationMs`;
// - verify: the configured probe window through the public listener (a wait, like warm-up),
//   `report.verify.durationMs`;
// - drain: the old color's in-flight requests finishing, `report.drain.durationMs`;
// - compat: the releases' compat checks run against the migrated shadow (the apps' own code),
//   `report.schema.shadow.checksMs`;
// - migrate: the release's own migrations running on the real database, `report.migrate.durationMs`.
// Everything else is cutover's: locking, resolving, retiring the previous standby at the start
// of starting (it drains it and waits for its instances to exit on their stop signal), the drift and schema
// checks (the shadow's creation, the migrations applied on it, its drop), the flip, entering standby, the bookkeeping inside each step and the gaps
// between steps.
import type { DeploymentView } from '../../src/client/api-types.ts';

export const APP_PARTS = [
  'start',
  'smoke',
  'warmup',
  'verify',
  'drain',
  'compat',
  'migrate',
] as const;
export type AppPart = (typeof APP_PARTS)[number];

export interface DeployTimes {
  /** From the deployment's start to its end, by the daemon's clock. */
  readonly totalMs: number;
  /** Summed duration of each step name (a resumed step counts every run). */
  readonly steps: Readonly<Record<string, number>>;
  /** The app's measured share, per part (0 for a part the deployment did not run). */
  readonly app: Readonly<Record<AppPart, number>>;
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
  const { report } = view;
  const app: Record<AppPart, number> = {
    start: report.start?.healthyMs ?? 0,
    smoke: report.smoke?.durationMs ?? 0,
    warmup: report.warmup?.durationMs ?? 0,
    verify: report.verify?.durationMs ?? 0,
    drain: report.drain?.durationMs ?? 0,
    compat: report.schema?.shadow?.checksMs ?? 0,
    migrate: report.migrate?.durationMs ?? 0,
  };
  const appMs = APP_PARTS.reduce((sum, part) => sum + app[part], 0);
  return { totalMs, steps, app, appMs, overheadMs: totalMs - appMs };
}
