// One canary step of a deployment (issue 5): put the step's share of public traffic on the new
// color, let it run for the step's pause, then judge the router's own counts of the step (error
// rate and p99 of the canary against the limits and the live color, once it served enough
// requests) and the configured checks. A resume after a crash runs the step at
// `state.shiftIndex` again from its start: the share is set again, the counts taken afresh.
import type { CanaryStepReport, DeploymentReport } from '../client/api-types.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import { CutoverError } from '../core/errors.ts';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';
import type { Color } from '../core/types.ts';
import type { ColorTraffic } from '../ports/traffic-switch.ts';
import { judgeCanaryStep, windowBetween } from '../probes/canary-analysis.ts';
import type { CanaryJudgement, ColorFigures } from '../probes/canary-analysis.ts';
import { runSmokeChecks } from '../probes/smoke.ts';
import type { SmokeReport } from '../probes/smoke.ts';
import type { EffectContext } from './effect-context.ts';

/** How often a step that waits for enough canary requests looks at the counters again. */
const RECHECK_INTERVAL_MS = 250;

type Waited = 'elapsed' | 'promoted';

function isPromoted(ctx: EffectContext): boolean {
  return ctx.promote?.aborted === true;
}

/** Sleeps, ended early by a promote; throws when the deployment is stopped or aborted. */
async function pause(ctx: EffectContext, ms: number): Promise<Waited> {
  if (isPromoted(ctx)) return 'promoted';
  const signals = [ctx.signal, ...(ctx.promote === undefined ? [] : [ctx.promote])];
  try {
    await ctx.clock.sleep(Math.max(0, ms), AbortSignal.any(signals));
  } catch (error) {
    if (ctx.signal.aborted || !isPromoted(ctx)) throw error;
  }
  return isPromoted(ctx) ? 'promoted' : 'elapsed';
}

function figures(figure: ColorFigures): CanaryStepReport['canary'] {
  const last = LATENCY_BUCKETS_MS.at(-1) ?? 0;
  return {
    requests: figure.requests,
    errors: figure.errors,
    errorRate: Number(figure.errorRate.toFixed(6)),
    // Above every bucket bound reads as the last bound (JSON has no Infinity).
    p99Ms:
      figure.p99Ms === null
        ? null
        : Number.isFinite(figure.p99Ms)
          ? Math.round(figure.p99Ms)
          : last,
  };
}

async function appendStep(ctx: EffectContext, entry: CanaryStepReport): Promise<void> {
  const stored = await ctx.store.getDeployment(ctx.state.id);
  const report = stored?.report as DeploymentReport | undefined;
  const earlier = (report?.canary?.steps ?? []).filter((each) => each.index < entry.index);
  await ctx.report({ canary: { steps: [...earlier, entry] } });
}

async function snapshot(
  ctx: EffectContext,
): Promise<Readonly<Record<Color, ColorTraffic>> | undefined> {
  return (await ctx.traffic.describe()).apps[ctx.state.app];
}

function colorsOf(ctx: EffectContext): { canary: Color; live: Color } {
  const { to, from } = ctx.state;
  if (to === null || from === null) {
    throw new CutoverError(
      'CUTOVER_ERR_INTERNAL',
      `deployment ${ctx.state.id} shifts traffic without a live and an idle color`,
    );
  }
  return { canary: to, live: from };
}

export async function runCanaryShift(ctx: EffectContext): Promise<DeploymentEvent> {
  const { app } = ctx.state;
  const { steps, analysis } = ctx.config.canary;
  const index = ctx.state.shiftIndex ?? 0;
  const step = steps[index];
  if (step === undefined || isPromoted(ctx)) {
    return { type: 'ShiftCompleted', at: ctx.nowIso() };
  }
  const { canary, live } = colorsOf(ctx);
  const label = `step ${index + 1} (${step.percent}%)`;
  ctx.waiting(
    `canary ${label} of ${steps.length}: ${step.percent}% of public traffic on ${canary}`,
  );
  await ctx.host.setSplit(app, {
    color: canary,
    percent: step.percent,
    sticky: ctx.config.canary.sticky,
    allow: ctx.config.canary.allow,
  });
  await ctx.host.record(app, 'canary-step', {
    deployment: ctx.state.id,
    step: index + 1,
    percent: step.percent,
    color: canary,
  });
  const started = ctx.clock.monotonicMs();
  const before = await snapshot(ctx);
  const promoted = async (judgement: CanaryJudgement | null): Promise<DeploymentEvent> => {
    if (judgement !== null) {
      await appendStep(ctx, {
        index,
        percent: step.percent,
        verdict: 'promoted',
        reason: 'promoted before the step was judged',
        durationMs: Math.round(ctx.clock.monotonicMs() - started),
        canary: figures(judgement.canary),
        live: figures(judgement.live),
        checks: [],
      });
    }
    return { type: 'ShiftCompleted', at: ctx.nowIso() };
  };
  const judge = async (): Promise<CanaryJudgement> => {
    const after = await snapshot(ctx);
    return judgeCanaryStep(
      windowBetween(before?.[canary], after?.[canary]),
      windowBetween(before?.[live], after?.[live]),
      analysis,
    );
  };

  if ((await pause(ctx, step.pauseMs)) === 'promoted') return promoted(await judge());
  let judgement = await judge();
  const deadline = started + step.pauseMs + analysis.maxWaitMs;
  while (judgement.verdict === 'waiting') {
    if (ctx.clock.monotonicMs() >= deadline) break;
    ctx.waiting(
      `canary ${label}: ${judgement.canary.requests} of ${analysis.minRequests} requests on ${canary} before it is judged`,
    );
    if ((await pause(ctx, RECHECK_INTERVAL_MS)) === 'promoted') return promoted(judgement);
    judgement = await judge();
  }

  let checks: SmokeReport | null = null;
  if (judgement.verdict === 'passed' && ctx.config.canary.checks.length > 0) {
    ctx.waiting(
      `canary ${label}: ${ctx.config.canary.checks.length} checks on the preview listener`,
    );
    checks = await runSmokeChecks(ctx.config.canary.checks, {
      baseUrl: ctx.urls().preview,
      host: ctx.config.hosts[0] ?? 'localhost',
      releaseDir: ctx.request.dir,
      signal: ctx.signal,
    });
    if (ctx.signal.aborted) throw new Error('stopped');
  }

  let reason: string | null = null;
  if (judgement.verdict === 'waiting') {
    const waitedS = ((ctx.clock.monotonicMs() - started) / 1000).toFixed(1);
    reason =
      `${label}: not enough traffic to judge: ${judgement.canary.requests} of the ` +
      `${analysis.minRequests} canary requests needed in ${waitedS} s`;
  } else if (judgement.verdict === 'failed') {
    reason = `${label}: ${judgement.failures.join('; ')}`;
  } else if (checks !== null && !checks.passed) {
    const failed = checks.checks
      .filter((check) => check.outcome === 'failed')
      .map((check) => `${check.name}: ${check.reason ?? 'failed'}`);
    reason = `${label}: canary checks failed: ${failed.join('; ')}`;
  }
  await appendStep(ctx, {
    index,
    percent: step.percent,
    verdict: reason === null ? 'passed' : 'failed',
    reason,
    durationMs: Math.round(ctx.clock.monotonicMs() - started),
    canary: figures(judgement.canary),
    live: figures(judgement.live),
    checks: (checks?.checks ?? []).map(({ name, outcome, reason: why, durationMs, output }) => ({
      name,
      outcome,
      reason: why,
      durationMs: Math.round(durationMs),
      output,
    })),
  });
  if (reason !== null) return { type: 'ShiftFailed', reason, at: ctx.nowIso() };
  return { type: 'ShiftStepPassed', index, percent: step.percent, at: ctx.nowIso() };
}
