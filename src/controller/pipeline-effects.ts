// What each effect of the deployment state machine does, and the event it ends with. The
// once-only ones (start-instances, flip, flip-back) write the effect journal before and after
// they act, and on a resume first reconcile with the target (the instances found running, the
// stored routing state) so a restart never runs them twice.
import type { ProbeView } from '../client/api-types.ts';
import { toProcessStartSpec } from '../config/process-start-spec.ts';
import { appEnvSources, resolveAppEnv } from '../config/resolve-app-env.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { Effect } from '../core/deployment/deployment-effects.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import { strategyOf } from '../core/deployment/deployment-state.ts';
import { CutoverError } from '../core/errors.ts';
import { otherColor } from '../core/types.ts';
import type { Color, HealthCheckSpec, InstanceSpec } from '../core/types.ts';
import type { Runtime } from '../ports/runtime.ts';
import { runSmokeChecks } from '../probes/smoke.ts';
import { verifySwitchWindow } from '../probes/verify-window.ts';
import type { ProbeRecord } from '../probes/verify-window.ts';
import { runWarmup } from '../probes/warmup.ts';
import type { MigrationTarget } from '../ports/database.ts';
import type { EffectContext } from './effect-context.ts';
import { checkDrift } from './drift-step.ts';
import { checkSchema, migrateExpand, resolveDatabaseUrl } from './schema-steps.ts';
import { restoreRollingShift } from './rolling-shift.ts';
import { runShiftStep } from './shift-step.ts';
import type { SchemaStepContext } from './schema-steps.ts';

/** The probes kept in a deployment's report (the whole timeline goes to the log). */
const REPORT_TIMELINE_PROBES = 50;

export type { EffectContext, EffectRequest } from './effect-context.ts';

/** Runs one effect; returns the event it ends its step with, or null when another effect does. */
export async function runPipelineEffect(
  effect: Effect,
  ctx: EffectContext,
): Promise<DeploymentEvent | null> {
  const at = (): string => ctx.nowIso();
  switch (effect.kind) {
    case 'acquire-lock':
      // The runner holds the lock before it runs any effect (taken over on a resume).
      return { type: 'LockAcquired', at: at() };
    case 'resolve-idle':
      return resolveIdle(ctx);
    case 'check-drift':
      return checkDrift(ctx);
    case 'check-schema':
      return checkSchema(await schemaContext(ctx));
    case 'start-instances':
      return startInstances(effect, effect.color, ctx);
    case 'migrate-expand':
      // Once-only by the history table: a resumed run applies only the files not yet applied.
      return migrateExpand(await schemaContext(ctx));
    case 'smoke':
      return smoke(ctx);
    case 'warm-up':
      return warmUp(ctx);
    case 'shift':
      return runShiftStep(ctx);
    case 'clear-split':
      return clearSplit(ctx);
    case 'flip':
      return flip(effect, effect.to, ctx);
    case 'verify':
      return verify(effect.color, ctx);
    case 'flip-back':
      return flipBack(effect, effect.to, ctx);
    case 'drain': {
      ctx.waiting(`in-flight requests on ${effect.color} to finish`);
      const summary = await ctx.host.drain(ctx.state.app, effect.color, actorOf(ctx), {
        timeoutMs: ctx.config.switch.drainTimeoutMs,
        websocketGraceMs: ctx.config.switch.websocketGraceMs,
      });
      if (ctx.state.step !== 'draining') return null;
      await ctx.report({ drain: summary });
      return { type: 'DrainCompleted', at: at() };
    }
    case 'stop-instances':
      await stopMirror(ctx);
      await stopRelease(ctx, effect.color);
      return null;
    case 'retire-color':
      await retireRolledColor(ctx, effect.color);
      return null;
    case 'keep-standby': {
      const { rollbackWindowMs, after } = ctx.config.standby;
      if (after === 'stop') {
        ctx.scheduleRetire?.(
          ctx.state.app,
          effect.color,
          releaseIn(ctx, effect.color) ?? '',
          rollbackWindowMs,
        );
      }
      return null;
    }
    case 'release-lock':
      await ctx.lock.release();
      return { type: 'LockReleased', at: at() };
  }
}

async function schemaContext(ctx: EffectContext): Promise<SchemaStepContext> {
  const openDatabase =
    ctx.openDatabase ??
    ((): Promise<MigrationTarget> =>
      Promise.reject(new Error('this daemon cannot open databases')));
  return {
    app: ctx.state.app,
    next: { release: ctx.state.release, dir: ctx.request.dir, config: ctx.config },
    live: ctx.config.database === null ? null : ((await ctx.liveRelease?.()) ?? null),
    openDatabase,
    ...(ctx.environment === undefined ? {} : { environment: ctx.environment }),
    ...(ctx.logger === undefined ? {} : { logger: ctx.logger }),
    signal: ctx.signal,
    nowIso: () => ctx.nowIso(),
    waiting: (text) => {
      ctx.waiting(text);
    },
    report: (patch) => ctx.report(patch),
  };
}

function actorOf(ctx: EffectContext): string {
  return `deployment ${ctx.state.id}`;
}

function hostOf(ctx: EffectContext): string {
  return ctx.config.hosts[0] ?? 'localhost';
}

function releaseIn(ctx: EffectContext, color: Color): string | null {
  return ctx.host.appState(ctx.state.app)?.environments[color].release?.id ?? null;
}

function runtimeOf(ctx: EffectContext): Runtime {
  if (ctx.config.runtime === 'external') return ctx.runtimes.external;
  if (ctx.runtimes.process === null) {
    throw new CutoverError('CUTOVER_ERR_CONFIG_INVALID', 'This daemon has no process runtime.');
  }
  return ctx.runtimes.process;
}

/** Stops instances whatever runtime started them: the process runtime ignores ids it never had. */
async function stopInstances(
  ctx: EffectContext,
  instances: readonly InstanceSpec[],
): Promise<void> {
  if (instances.length === 0) return;
  await ctx.runtimes.process?.stop(ctx.state.app, instances);
  await ctx.runtimes.external.stop(ctx.state.app, instances);
}

/** Mirroring ends before the flip and on every clean-up (issue 5). */
async function stopMirror(ctx: EffectContext): Promise<void> {
  if (ctx.host.appState(ctx.state.app)?.mirror != null)
    await ctx.host.setMirror(ctx.state.app, null);
}

/** A failed or aborted shift: every share of public traffic back on the live color at once. */
async function clearSplit(ctx: EffectContext): Promise<DeploymentEvent> {
  // A rolling shift cut short (an abort taken up after a restart, a crashed batch) may have
  // taken old instances out: put the old release back whole before the share comes off.
  if (strategyOf(ctx.state) === 'rolling') await restoreRollingShift(ctx);
  const app = ctx.host.appState(ctx.state.app);
  const live = app?.live ?? null;
  ctx.waiting(`all public traffic back on ${live ?? 'the live color'}`);
  if (app?.split != null) {
    await ctx.host.setSplit(ctx.state.app, null);
    await ctx.host.record(ctx.state.app, 'split-cleared', {
      deployment: ctx.state.id,
      color: app.split.color,
      percent: app.split.percent,
      reason: ctx.state.reason,
    });
  }
  await stopMirror(ctx);
  return { type: 'SplitCleared', at: ctx.nowIso() };
}

/**
 * After a rolling deployment's flip the old color keeps no standby: its instances were replaced
 * in place. Whatever is left of it stops and the color empties, so a rollback says there is no
 * standby instead of flipping to a color that cannot serve.
 */
async function retireRolledColor(ctx: EffectContext, color: Color): Promise<void> {
  const app = ctx.host.appState(ctx.state.app);
  const held = app?.environments[color].release ?? null;
  if (app === undefined || held === null || app.live === color) return;
  ctx.waiting(`retiring ${color}: a rolling deployment keeps no standby`);
  await stopInstances(ctx, held.instances);
  await ctx.host.clearColor(ctx.state.app, color);
  await ctx.host.record(ctx.state.app, 'standby-retired', {
    deployment: ctx.state.id,
    color,
    release: held.id,
    reason: `the deployment of ${ctx.state.release} was rolling: its instances replaced ${held.id}'s in place, so there is no standby to roll back to`,
  });
}

/** The config the start step starts from: a rolling deployment starts only its first batch. */
function startConfig(ctx: EffectContext): AppConfig {
  const { config, state } = ctx;
  if (strategyOf(state) !== 'rolling' || state.from === null) return config;
  return { ...config, instances: Math.max(1, Math.min(config.rolling.batch, config.instances)) };
}

function resolveIdle(ctx: EffectContext): DeploymentEvent {
  const app = ctx.host.appState(ctx.state.app);
  const live = app?.live ?? null;
  const idle: Color = live === null ? 'blue' : otherColor(live);
  return { type: 'IdleResolved', live, idle, at: ctx.nowIso() };
}

/**
 * The idle color may hold the previous standby (or a release never flipped to): the new
 * release replaces it, so it is retired right before the new instances start, after every
 * check that could refuse the deployment without touching anything (drift, schema): a refused
 * deployment keeps the standby. Its in-flight work finishes before its instances stop.
 */
async function retireIdle(ctx: EffectContext, idle: Color): Promise<void> {
  const app = ctx.host.appState(ctx.state.app);
  const held = app?.environments[idle].release ?? null;
  if (app === undefined || held === null || app.live === idle) return;
  ctx.waiting(`retiring release ${held.id} from ${idle}`);
  await ctx.host.drain(ctx.state.app, idle, actorOf(ctx), {
    timeoutMs: ctx.config.switch.drainTimeoutMs,
    websocketGraceMs: ctx.config.switch.websocketGraceMs,
  });
  await stopInstances(ctx, held.instances);
  await ctx.host.clearColor(ctx.state.app, idle);
  await ctx.host.record(ctx.state.app, 'standby-retired', {
    deployment: ctx.state.id,
    color: idle,
    release: held.id,
    reason: `replaced by ${ctx.state.release}`,
  });
}

function healthSpecOf(config: AppConfig): HealthCheckSpec {
  const { path, intervalMs, timeoutMs, rise, fall } = config.health;
  return { path, intervalMs, timeoutMs, rise, fall };
}

interface StartResult {
  readonly instances: readonly InstanceSpec[];
}

async function startInstances(
  effect: Effect,
  color: Color,
  ctx: EffectContext,
): Promise<DeploymentEvent> {
  const { store } = ctx;
  const app = ctx.state.app;
  let startedMs = ctx.clock.monotonicMs();
  let retireMs = 0;
  const journal = await store.getEffect(effect.key);
  let instances: readonly InstanceSpec[];
  if (journal?.status === 'done') {
    instances = (journal.result as StartResult).instances;
  } else if (journal?.status === 'begun') {
    // The daemon died while starting them: whatever it started is stopped, never started twice.
    const found = (ctx.adopted?.() ?? [])
      .filter(
        (each) => each.app === app && each.color === color && each.release === ctx.state.release,
      )
      .map((each) => each.instance);
    await stopInstances(ctx, found);
    throw new Error(
      `the daemon stopped while the instances of ${ctx.state.release} were starting; ${found.length} found running were stopped`,
    );
  } else {
    await retireIdle(ctx, color);
    // The new release's own start is timed from here; retiring the old one is cutover's work.
    retireMs = Math.round(ctx.clock.monotonicMs() - startedMs);
    startedMs = ctx.clock.monotonicMs();
    const config = startConfig(ctx);
    ctx.waiting(
      `starting ${config.runtime === 'process' ? config.instances : (ctx.request.instances?.length ?? 0)} instances on ${color}`,
    );
    const runtime = runtimeOf(ctx);
    const base = { app, release: ctx.state.release, color };
    let request;
    if (ctx.config.runtime === 'external') {
      request = { ...base, addresses: ctx.request.instances ?? [] };
    } else {
      const env = await resolveAppEnv(ctx.config.env, {
        releaseDir: ctx.request.dir,
        ...(ctx.environment === undefined ? {} : { environment: ctx.environment }),
      });
      // The app reads its database URL from `database.env`; cutover resolves and sets it.
      const databaseUrl = await resolveDatabaseUrl(
        { release: ctx.state.release, dir: ctx.request.dir, config: ctx.config },
        ctx.environment,
      );
      if (databaseUrl !== null && ctx.config.database !== null) {
        env[ctx.config.database.env] = databaseUrl;
      }
      // The runtime records the sources, never the secrets' values (docs/architecture.md).
      const envSources = appEnvSources(ctx.config, ctx.request.dir);
      request = {
        ...base,
        process: { ...toProcessStartSpec(config, ctx.request.dir, env), envSources },
      };
    }
    await store.putEffect({ key: effect.key, status: 'begun', result: null, at: ctx.nowIso() });
    instances = await runtime.start(request);
    await store.putEffect({
      key: effect.key,
      status: 'done',
      result: { instances } satisfies StartResult,
      at: ctx.nowIso(),
    });
  }
  const spec = healthSpecOf(ctx.config);
  await ctx.host.place(
    app,
    color,
    { id: ctx.state.release, instances, health: spec },
    ctx.config.hosts,
  );
  const addresses = instances.map((instance) => instance.address);
  const progress = setInterval(() => {
    const up = addresses.filter((a) => ctx.health.stateOf(a).state === 'up').length;
    ctx.waiting(
      `${up} of ${addresses.length} instances healthy (GET ${spec.path}, ${spec.rise} passes in a row)`,
    );
  }, 100);
  ctx.waiting(
    `0 of ${addresses.length} instances healthy (GET ${spec.path}, ${spec.rise} passes in a row)`,
  );
  try {
    await ctx.health.waitHealthy(addresses, spec, ctx.config.health.startTimeoutMs, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return {
      type: 'InstancesUnhealthy',
      reason: error instanceof Error ? error.message : String(error),
      at: ctx.nowIso(),
    };
  } finally {
    clearInterval(progress);
  }
  ctx.host.markUp(addresses);
  await ctx.report({
    start: {
      instances: instances.map(({ id, address }) => ({ id, address })),
      healthyMs: Math.round(ctx.clock.monotonicMs() - startedMs),
      retireMs,
    },
  });
  return { type: 'InstancesHealthy', at: ctx.nowIso() };
}

async function smoke(ctx: EffectContext): Promise<DeploymentEvent> {
  if (ctx.config.smoke.length === 0) return { type: 'SmokePassed', at: ctx.nowIso() };
  ctx.waiting(`${ctx.config.smoke.length} smoke checks on the preview listener`);
  const report = await runSmokeChecks(ctx.config.smoke, {
    baseUrl: ctx.urls().preview,
    host: hostOf(ctx),
    releaseDir: ctx.request.dir,
    signal: ctx.signal,
  });
  if (ctx.signal.aborted) throw new Error('stopped');
  await ctx.report({
    smoke: {
      passed: report.passed,
      durationMs: Math.round(report.durationMs),
      checks: report.checks.map(({ name, outcome, reason, durationMs, output }) => ({
        name,
        outcome,
        reason,
        durationMs: Math.round(durationMs),
        output,
      })),
    },
  });
  if (report.passed) return { type: 'SmokePassed', at: ctx.nowIso() };
  const failed = report.checks
    .filter((check) => check.outcome === 'failed')
    .map((check) => `${check.name}: ${check.reason ?? 'failed'}`);
  return { type: 'SmokeFailed', reason: failed.join('; '), at: ctx.nowIso() };
}

async function warmUp(ctx: EffectContext): Promise<DeploymentEvent> {
  const { warmup, mirror } = ctx.config;
  // Mirroring runs from warm-up until the shift or the flip; it needs a live color to copy.
  const app = ctx.host.appState(ctx.state.app);
  if (mirror.enabled && app?.live != null && ctx.state.to !== null && app.mirror == null) {
    await ctx.host.setMirror(ctx.state.app, {
      color: ctx.state.to,
      maxPerSecond: mirror.maxPerSecond,
      maxBodyBytes: mirror.maxBodyBytes,
    });
  }
  if (warmup.requests === 0 && warmup.durationMs === 0) {
    return { type: 'WarmupCompleted', at: ctx.nowIso() };
  }
  ctx.waiting(
    warmup.requests > 0
      ? `${warmup.requests} warm-up requests`
      : `warm-up traffic for ${warmup.durationMs} ms`,
  );
  const report = await runWarmup(warmup, {
    baseUrl: ctx.urls().preview,
    host: hostOf(ctx),
    signal: ctx.signal,
  });
  if (report.end === 'stopped' || ctx.signal.aborted) throw new Error('stopped');
  await ctx.report({
    warmup: {
      sent: report.sent,
      ok: report.ok,
      failed: report.failed,
      p50Ms: report.p50Ms,
      p99Ms: report.p99Ms,
      durationMs: Math.round(report.durationMs),
    },
  });
  const threshold = ctx.config.switch.failureThreshold;
  if (report.sent > 0 && report.failed / report.sent > threshold) {
    const reasons = Object.entries(report.errors)
      .map(([reason, count]) => `${reason} x${count}`)
      .join(', ');
    return {
      type: 'WarmupFailed',
      reason: `${report.failed} of ${report.sent} warm-up requests failed (${reasons})`,
      at: ctx.nowIso(),
    };
  }
  return { type: 'WarmupCompleted', at: ctx.nowIso() };
}

/** The last flip to `to` in the stored state, if the app is live there now. */
function committedFlipTo(ctx: EffectContext, to: Color): number | null {
  const app = ctx.host.appState(ctx.state.app);
  if (app === undefined || app.live !== to) return null;
  const last = [...app.flips].reverse().find((each) => each.to === to);
  return last?.generation ?? null;
}

async function flip(effect: Effect, to: Color, ctx: EffectContext): Promise<DeploymentEvent> {
  const journal = await ctx.store.getEffect(effect.key);
  if (journal !== null) {
    // Begun (or done) before a restart: the stored routing state says whether it committed.
    const generation = committedFlipTo(ctx, to);
    if (generation !== null) return { type: 'FlipCommitted', generation, at: ctx.nowIso() };
    if (journal.status === 'done') {
      return {
        type: 'FlipFailed',
        reason: `the flip to ${to} was recorded but ${to} is not live`,
        at: ctx.nowIso(),
      };
    }
  }
  ctx.waiting(`flipping public traffic to ${to}`);
  await stopMirror(ctx);
  await ctx.store.putEffect({ key: effect.key, status: 'begun', result: null, at: ctx.nowIso() });
  try {
    const flipped = await ctx.host.flip(
      ctx.state.app,
      to,
      'deploy',
      actorOf(ctx),
      ctx.clock.monotonicMs(),
    );
    await ctx.store.putEffect({
      key: effect.key,
      status: 'done',
      result: { generation: flipped.generation },
      at: ctx.nowIso(),
    });
    await ctx.report({ flip: { generation: flipped.generation, durationMs: flipped.durationMs } });
    return { type: 'FlipCommitted', generation: flipped.generation, at: ctx.nowIso() };
  } catch (error) {
    return {
      type: 'FlipFailed',
      reason: error instanceof Error ? error.message : String(error),
      at: ctx.nowIso(),
    };
  }
}

async function flipBack(effect: Effect, to: Color, ctx: EffectContext): Promise<DeploymentEvent> {
  const journal = await ctx.store.getEffect(effect.key);
  if (journal !== null) {
    const generation = committedFlipTo(ctx, to);
    if (generation !== null) return { type: 'FlipBackCommitted', generation, at: ctx.nowIso() };
  }
  ctx.waiting(`flipping public traffic back to ${to}`);
  await ctx.store.putEffect({ key: effect.key, status: 'begun', result: null, at: ctx.nowIso() });
  // Errors throw: the state machine retries a flip back until it commits.
  const flipped = await ctx.host.flip(
    ctx.state.app,
    to,
    'rollback',
    actorOf(ctx),
    ctx.clock.monotonicMs(),
  );
  await ctx.store.putEffect({
    key: effect.key,
    status: 'done',
    result: { generation: flipped.generation },
    at: ctx.nowIso(),
  });
  await ctx.report({
    flipBack: { generation: flipped.generation, durationMs: flipped.durationMs },
  });
  return { type: 'FlipBackCommitted', generation: flipped.generation, at: ctx.nowIso() };
}

function probeView(probe: ProbeRecord): ProbeView {
  return {
    at: new Date(probe.atMs).toISOString(),
    path: probe.path,
    status: probe.status,
    ms: Math.round(probe.ms),
    ok: probe.ok,
    error: probe.error,
  };
}

async function verify(color: Color, ctx: EffectContext): Promise<DeploymentEvent> {
  const app = ctx.state.app;
  const settings = ctx.config.switch;
  let probes = 0;
  let failedProbes = 0;
  const started = ctx.clock.monotonicMs();
  ctx.waiting(`probing ${color} through the public listener for ${settings.probeWindowMs} ms`);
  const result = await verifySwitchWindow(settings, {
    publicUrl: ctx.urls().public,
    host: hostOf(ctx),
    clock: ctx.clock,
    signal: ctx.signal,
    onProbe: (probe) => {
      probes += 1;
      if (!probe.ok) failedProbes += 1;
      const left = Math.max(0, settings.probeWindowMs - (ctx.clock.monotonicMs() - started));
      ctx.waiting(`${probes} probes ok so far, ${Math.ceil(left / 1000)} s of the window left`);
    },
    traffic: async () => {
      const snapshot = await ctx.traffic.describe();
      const counts = snapshot.apps[app]?.[color];
      // The instances' own 5xx count as failures too, not only the router's.
      const failed = (counts?.failed ?? 0) + (counts?.serverErrors ?? 0);
      return { requests: counts?.requests ?? 0, failed };
    },
  });
  if (!result.ok && result.stopped) throw new Error('stopped');
  await ctx.report({
    verify: {
      ok: result.ok,
      reason: result.ok ? null : result.reason,
      durationMs: result.durationMs,
      probes,
      failedProbes,
      timeline: result.timeline.slice(-REPORT_TIMELINE_PROBES).map(probeView),
    },
  });
  if (result.ok) return { type: 'VerifyWindowPassed', at: ctx.nowIso() };
  return { type: 'ProbeFailed', reason: result.reason, at: ctx.nowIso() };
}

/** Stops this deployment's instances in `color` and empties it, if it holds this release. */
async function stopRelease(ctx: EffectContext, color: Color): Promise<void> {
  const app = ctx.host.appState(ctx.state.app);
  const placed = app?.environments[color].release ?? null;
  const journal = await ctx.store.getEffect(`${ctx.state.id}/starting/start-instances`);
  const started =
    journal?.status === 'done' ? (journal.result as StartResult).instances : ([] as InstanceSpec[]);
  const ours = placed !== null && placed.id === ctx.state.release && app?.live !== color;
  const instances = new Map<string, InstanceSpec>();
  for (const each of [...started, ...(ours ? placed.instances : [])]) instances.set(each.id, each);
  ctx.waiting(`stopping ${instances.size} instances of ${ctx.state.release} on ${color}`);
  await stopInstances(ctx, [...instances.values()]);
  if (ours) await ctx.host.clearColor(ctx.state.app, color);
}
