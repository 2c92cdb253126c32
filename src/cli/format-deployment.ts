// Lines for people about one deployment (DeploymentView of the admin API): a permanent line per
// finished step, the redrawn status line of the running step, and the final summary. Pure: the
// caller passes the current time.
import type { DeploymentOutcome, DeploymentStepView, DeploymentView } from '../client/api-types.ts';
import { canaryLines } from './format-canary.ts';
import { rollingLines } from './format-rolling.ts';
import { formatDuration } from './parse-duration.ts';

const OUTCOMES: readonly string[] = ['succeeded', 'failed', 'aborted', 'rolled-back'];
/** The steps a failure leads into: the step before one of them is the one that failed. */
const FAILURE_FOLLOWERS: readonly string[] = [
  'cleaning-up',
  'rolling-back',
  'failed',
  'aborted',
  'rolled-back',
];
const PASS_MARK = '✓';
const FAIL_MARK = '✗';

export interface StepLine {
  /** Index of the step in `view.steps`: a renderer prints each index once. */
  readonly index: number;
  readonly text: string;
}

/** `3.2ms`, `45ms`, `0.30s`, `1.21s`: short enough for a status line. */
export function formatStepDuration(ms: number): string {
  if (ms < 10) return Number.isInteger(ms) ? `${Math.max(0, ms)}ms` : `${ms.toFixed(1)}ms`;
  if (ms < 100) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}

export function isOutcomeStep(step: string): step is DeploymentOutcome {
  return OUTCOMES.includes(step);
}

/** The index of the step that failed (the one a failure handler followed), or -1. */
export function failedStepIndex(view: DeploymentView): number {
  const steps = view.steps;
  for (let i = 0; i < steps.length - 1; i += 1) {
    const step = steps[i]?.step ?? '';
    const next = steps[i + 1]?.step ?? '';
    if (step === 'cleaning-up' || step === 'rolling-back' || isOutcomeStep(step)) continue;
    if (FAILURE_FOLLOWERS.includes(next)) return i;
  }
  return -1;
}

/** The reason without the `step "smoke" failed: ` prefix that repeats the step's name. */
export function stepReason(view: DeploymentView, step: string): string | null {
  if (view.reason === null) return null;
  const prefix = new RegExp(`^step "${step}" (?:failed|crashed): `);
  return view.reason.replace(prefix, '');
}

/** One permanent line per finished step, outcome entries left out (the summary says them). */
export function finishedStepLines(view: DeploymentView): readonly StepLine[] {
  const failed = failedStepIndex(view);
  const lines: StepLine[] = [];
  view.steps.forEach((step, index) => {
    if (step.endedAt === null || isOutcomeStep(step.step)) return;
    const ms = durationOf(step);
    const head = `${index === failed ? FAIL_MARK : PASS_MARK} ${step.step} ${formatStepDuration(ms)}`;
    const reason = index === failed ? stepReason(view, step.step) : null;
    lines.push({ index, text: reason === null ? head : `${head}: ${reason}` });
  });
  return lines;
}

/** `[starting 3.2s] waiting for 1 of 2 instances healthy`; null once the deployment ended. */
export function formatStatusLine(view: DeploymentView, nowMs: number): string | null {
  if (view.ended || isOutcomeStep(view.step)) return null;
  const started = Date.parse(currentStepStart(view));
  const elapsed = Number.isFinite(started) ? Math.max(0, nowMs - started) : 0;
  const head = `[${view.step} ${(elapsed / 1000).toFixed(1)}s]`;
  return view.waitingFor === null ? head : `${head} waiting for ${view.waitingFor}`;
}

/** When the running step began: its own entry if the view lists it, else the last step's end. */
function currentStepStart(view: DeploymentView): string {
  const last = view.steps.at(-1);
  if (last === undefined) return view.startedAt;
  if (last.endedAt === null) return last.startedAt;
  return last.endedAt;
}

function durationOf(step: DeploymentStepView): number {
  if (step.durationMs !== null) return step.durationMs;
  const ms = Date.parse(step.endedAt ?? '') - Date.parse(step.startedAt);
  return Number.isFinite(ms) ? ms : 0;
}

/** The end of a followed deployment: outcome, release, color, flip, probes, drain, reason. */
export function formatDeploymentSummary(view: DeploymentView): string {
  const report = view.report;
  const total = totalMs(view);
  const took = total === null ? '' : ` in ${formatStepDuration(total)}`;
  const lines = [`${view.app} ${view.release}: ${view.outcome ?? view.step}${took} (${view.id})`];
  lines.push(`  ${trafficLine(view)}`);
  if (report.start !== undefined) {
    lines.push(
      `  started ${report.start.instances.length} instances, healthy in ${formatDuration(report.start.healthyMs)}`,
    );
  }
  if (report.smoke !== undefined) {
    const failedChecks = report.smoke.checks.filter((check) => check.outcome === 'failed');
    lines.push(
      `  smoke: ${report.smoke.checks.length - failedChecks.length} of ${report.smoke.checks.length} checks passed in ${formatDuration(report.smoke.durationMs)}`,
    );
    for (const check of failedChecks) {
      lines.push(`    ${FAIL_MARK} ${check.name}: ${check.reason ?? 'failed'}`);
    }
  }
  if (report.warmup !== undefined) {
    const w = report.warmup;
    const p50 = w.p50Ms === null ? '-' : formatDuration(w.p50Ms);
    const p99 = w.p99Ms === null ? '-' : formatDuration(w.p99Ms);
    lines.push(`  warm-up: ${w.sent} requests, ${w.failed} failed, p50 ${p50}, p99 ${p99}`);
  }
  lines.push(...canaryLines(report));
  lines.push(...rollingLines(report));
  if (report.flip !== undefined) {
    lines.push(
      `  flip: ${formatDuration(report.flip.durationMs)}, generation ${report.flip.generation}`,
    );
  }
  if (report.verify !== undefined) {
    const v = report.verify;
    lines.push(
      `  verify: ${v.probes} probes, ${v.failedProbes} failed, over ${formatDuration(v.durationMs)}`,
    );
  }
  if (report.flipBack !== undefined) {
    lines.push(
      `  flip back: ${formatDuration(report.flipBack.durationMs)}, generation ${report.flipBack.generation}`,
    );
  }
  if (report.drain !== undefined) {
    const d = report.drain;
    lines.push(
      d.cancelled
        ? `  drain of ${view.from ?? 'the old color'}: cancelled after ${formatDuration(d.durationMs)}`
        : `  drain of ${view.from ?? 'the old color'}: ${d.completed} in-flight completed, ${d.aborted} ended at the deadline, ${d.websocketsClosed} websockets closed, in ${formatDuration(d.durationMs)}`,
    );
  }
  if (view.reason !== null) lines.push(`  reason: ${view.reason}`);
  return lines.join('\n');
}

function trafficLine(view: DeploymentView): string {
  const to = view.to ?? 'the idle color';
  if (view.outcome === 'succeeded') {
    if (view.from === null) return `live on ${to}`;
    // A rolling deployment replaced the old color's instances: nothing stands by.
    if (view.report.rolling !== undefined) return `live on ${to}; no standby (rolling)`;
    return `live on ${to}; ${view.from} is the standby`;
  }
  if (view.flipped) return `live on ${to}`;
  if (view.from !== null && view.report.flipBack !== undefined)
    return `traffic is back on ${view.from}`;
  return view.from === null
    ? 'nothing live: this was the first deployment'
    : `traffic stays on ${view.from}`;
}

function totalMs(view: DeploymentView): number | null {
  const end = Date.parse(view.endedAt ?? view.updatedAt);
  const start = Date.parse(view.startedAt);
  return Number.isFinite(end) && Number.isFinite(start) ? Math.max(0, end - start) : null;
}
