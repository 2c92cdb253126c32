// The demo's report: each deployment's outcome and step durations (and its schema steps), the
// drill, the request counts that prove nothing was dropped, and the expectations the story checks. Pure: built from
// measurements, printed as text or JSON.
import type { Color } from '../../core/types.ts';
import type {
  DeploymentOutcome,
  DeploymentStepView,
  DeploymentView,
  DrillReport,
} from '../../client/api-types.ts';
import { formatDuration } from '../parse-duration.ts';
import type { LoadResult } from './demo-load.ts';
import { formatSchemaLines, shortFailure, toDemoSchema } from './demo-schema.ts';
import type { DemoSchema } from './demo-schema.ts';

export interface DemoStep {
  readonly step: string;
  readonly durationMs: number | null;
}

export interface DemoDeployment {
  readonly id: string;
  readonly release: string;
  readonly outcome: DeploymentOutcome | null;
  /** The step that failed (the one before the clean-up or the flip back); null on success. */
  readonly failedAt: string | null;
  readonly reason: string | null;
  readonly from: Color | null;
  readonly to: Color | null;
  /** Whether the flip to the release was ever taken (a flipping step ran). */
  readonly flipped: boolean;
  /** Whether a share of public traffic went to it before any flip (canary or rolling steps). */
  readonly shifted?: boolean;
  readonly flipMs: number | null;
  readonly flipBackMs: number | null;
  readonly verify: { readonly probes: number; readonly failedProbes: number } | null;
  readonly durationMs: number | null;
  readonly steps: readonly DemoStep[];
  /** The schema steps: lint findings, the shadow check, what was applied; null without a database. */
  readonly schema: DemoSchema | null;
  /** The release serving public traffic once the deployment ended. */
  readonly liveAfter: string | null;
  readonly underLoad: boolean;
}

export interface DemoDrill {
  readonly passed: boolean;
  readonly reason: string | null;
  readonly live: Color;
  readonly standby: Color;
  readonly rtoMs: number;
  readonly objectiveMs: number;
  readonly failedRequests: number;
  readonly requests: number;
  readonly backFlipMs: number;
  readonly forwardFlipMs: number | null;
  readonly durationMs: number;
}

export interface DemoExpectation {
  readonly name: string;
  readonly ok: boolean;
  /** What was measured, for the report. */
  readonly detail: string;
}

export interface DemoReport {
  /** Every expectation held. */
  readonly ok: boolean;
  readonly app: string;
  readonly daemon: { readonly public: string; readonly preview: string };
  readonly deployments: readonly DemoDeployment[];
  readonly drill: DemoDrill | null;
  readonly requests: LoadResult | null;
  readonly expectations: readonly DemoExpectation[];
  readonly durationMs: number;
}

const ENDING_STEPS: readonly string[] = ['cleaning-up', 'rolling-back'];
const OUTCOME_STEPS: readonly string[] = ['succeeded', 'failed', 'aborted', 'rolled-back'];

/** The step that failed: the one the deployment left for a clean-up or a flip back. */
export function failedStep(view: DeploymentView): string | null {
  if (view.outcome === 'succeeded' || view.outcome === null) return null;
  const index = view.steps.findIndex((step) => ENDING_STEPS.includes(step.step));
  if (index > 0) return view.steps[index - 1]?.step ?? null;
  // A refusal before any step ran (the lock): the reason names it.
  return /step "([a-z-]+)"/.exec(view.reason ?? '')?.[1] ?? null;
}

function durationBetween(start: string, end: string | null): number | null {
  if (end === null) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? ms : null;
}

export function toDemoDeployment(
  view: DeploymentView,
  liveAfter: string | null,
  underLoad: boolean,
): DemoDeployment {
  return {
    id: view.id,
    release: view.release,
    outcome: view.outcome,
    failedAt: failedStep(view),
    reason: view.reason,
    from: view.from,
    to: view.to,
    flipped: view.steps.some((step) => step.step === 'flipping'),
    shifted: view.steps.some((step) => step.step === 'shifting'),
    flipMs: view.report.flip?.durationMs ?? null,
    flipBackMs: view.report.flipBack?.durationMs ?? null,
    verify:
      view.report.verify === undefined
        ? null
        : { probes: view.report.verify.probes, failedProbes: view.report.verify.failedProbes },
    durationMs: durationBetween(view.startedAt, view.endedAt),
    steps: view.steps
      .filter((step) => !OUTCOME_STEPS.includes(step.step))
      .map((step) => ({ step: step.step, durationMs: step.durationMs })),
    schema: toDemoSchema(view),
    liveAfter,
    underLoad,
  };
}

export function toDemoDrill(report: DrillReport): DemoDrill {
  return {
    passed: report.passed,
    reason: report.reason,
    live: report.live,
    standby: report.standby,
    rtoMs: report.rtoMs,
    objectiveMs: report.objectiveMs,
    failedRequests: report.failedRequests,
    requests: report.requests,
    backFlipMs: report.back.flip.durationMs,
    forwardFlipMs: report.forward?.flip.durationMs ?? null,
    durationMs: report.durationMs,
  };
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function ms(value: number | null): string {
  return value === null ? '?' : formatDuration(value);
}

/** One finished step, as it is printed while the deployment runs. */
export function formatStepLine(step: DeploymentStepView, next?: DeploymentStepView): string {
  const failed =
    next !== undefined && ENDING_STEPS.includes(next.step) && !ENDING_STEPS.includes(step.step);
  return `    ${failed ? '✗' : '✓'} ${step.step.padEnd(13)}${ms(step.durationMs)}`;
}

function formatSteps(steps: readonly DemoStep[]): string {
  return steps.map((step) => `${step.step} ${ms(step.durationMs)}`).join(', ');
}

function formatDeployment(d: DemoDeployment): string[] {
  const head = `  deploy ${d.release.padEnd(4)} ${(d.outcome ?? 'unfinished').padEnd(11)}`;
  const where = d.to === null ? '' : ` into ${d.to}`;
  let what: string;
  if (d.outcome === 'succeeded') {
    const canary = d.shifted === true ? ', after its canary steps' : '';
    what = `${where}${canary}, flip ${ms(d.flipMs)}${d.verify === null ? '' : `, ${count(d.verify.probes)} probes passed`}${d.underLoad ? ' (under load)' : ''}`;
  } else if (d.outcome === 'rolled-back' && !d.flipped && d.shifted === true) {
    const back = d.steps.find((step) => step.step === 'rolling-back');
    what = `${where}: its canary share taken back before any flip, all traffic on the live color again in ${ms(back?.durationMs ?? null)}`;
  } else if (d.outcome === 'rolled-back') {
    what = `${where}: flipped (${ms(d.flipMs)}), ${d.verify === null ? 'a probe' : `${count(d.verify.failedProbes)} of ${count(d.verify.probes)} probes`} failed, flipped back in ${ms(d.flipBackMs)}`;
  } else {
    const started = d.steps.some((step) => step.step === 'starting');
    const when = d.flipped ? '' : started ? ', before the flip' : ', before any instance started';
    what = `${where} at step ${d.failedAt ?? '?'}${when}`;
  }
  const lines = [
    `${head}${what}; ${ms(d.durationMs)} in all, live ${d.liveAfter ?? 'none'} after it`,
    `               steps: ${formatSteps(d.steps)}`,
  ];
  // A schema refusal says why in its lint and shadow lines; any other, in one short line.
  const schemaSaysWhy =
    d.failedAt === 'schema-check' &&
    d.schema !== null &&
    (d.schema.lint.length > 0 || (d.schema.shadow?.failures.length ?? 0) > 0);
  if (d.outcome !== 'succeeded' && d.reason !== null && !schemaSaysWhy) {
    lines.push(`               why: ${shortFailure(d.reason)}`);
  }
  if (d.schema !== null) lines.push(...formatSchemaLines(d.schema, '               '));
  return lines;
}

function formatRequests(r: LoadResult): string[] {
  const releases = Object.entries(r.byRelease)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([release, n]) => `${release} ${count(n)}`)
    .join(', ');
  const lines = [
    `  requests     ${count(r.total)} in ${formatDuration(r.durationMs)} (${releases}); ` +
      `${count(r.newConnections)} on new connections, ${count(r.posts)} orders (POST), the rest keep-alive GETs`,
    `  failed       ${count(r.failed)}`,
  ];
  for (const [release, n] of Object.entries(r.tolerated)) {
    lines.push(
      `  served by ${release} before the automatic rollback: ${count(n)} ${n === 1 ? 'error' : 'errors'} from the app itself (not counted as failed)`,
    );
  }
  lines.push(
    `  misrouted    ${count(r.misrouted)} of ${count(r.checkedAfterFlip)} requests outside a flip came from another release than the live one`,
  );
  if (r.errorSamples.length > 0) {
    lines.push('  first errors:', ...r.errorSamples.map((sample) => `    ${sample}`));
  }
  if (r.misroutedSamples.length > 0) {
    lines.push('  first misrouted:', ...r.misroutedSamples.map((sample) => `    ${sample}`));
  }
  return lines;
}

export function formatDemoReport(report: DemoReport): string {
  const lines = [
    `cutover demo: the ${report.app} example app, blue-green, under a steady load`,
    `  daemon       public ${report.daemon.public}, preview ${report.daemon.preview}`,
    ...report.deployments.flatMap(formatDeployment),
  ];
  const drill = report.drill;
  if (drill !== null) {
    lines.push(
      `  drill        ${drill.passed ? 'passed' : 'FAILED'}: RTO ${ms(drill.rtoMs)} (objective ${ms(drill.objectiveMs)}), ` +
        `${count(drill.failedRequests)} failed of ${count(drill.requests)} requests; ` +
        `flip back to ${drill.standby} ${ms(drill.backFlipMs)}, forward to ${drill.live} ${ms(drill.forwardFlipMs)}`,
    );
    if (drill.reason !== null) lines.push(`               why: ${drill.reason}`);
  }
  if (report.requests !== null) lines.push(...formatRequests(report.requests));
  lines.push(
    '  expectations',
    ...report.expectations.map((e) => `    ${e.ok ? '✓' : '✗'} ${e.name}: ${e.detail}`),
  );
  const failed = report.expectations.filter((e) => !e.ok);
  lines.push(
    report.ok
      ? `OK: every expectation held (${formatDuration(report.durationMs)} in all)`
      : `FAILED: ${failed.map((e) => e.name).join('; ')}`,
  );
  return lines.join('\n');
}
