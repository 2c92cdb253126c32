// The instance moves of a rolling deployment: start a few instances of a release into a color
// (healthy before they take traffic), take a few out of a color (out of routing first, stopped
// after a short grace), and on a resume stop the ones a killed daemon started or took out but
// never recorded. Every change to a color's instances goes through `host.setInstances`, which
// persists it before the router sees it.
import { toProcessStartSpec } from '../config/process-start-spec.ts';
import { appEnvSources, resolveAppEnv } from '../config/resolve-app-env.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { Color, HealthCheckSpec, InstanceSpec } from '../core/types.ts';
import type { EffectContext } from './effect-context.ts';
import { resolveDatabaseUrl } from './schema-steps.ts';

/** In-flight requests on an instance taken out of routing get this long before its SIGTERM. */
export const REMOVED_INSTANCE_GRACE_MS = 500;

/** A release to start instances of: the new one, or the live one when going back to it. */
export interface RollingRelease {
  readonly release: string;
  readonly dir: string;
  readonly config: AppConfig;
  /** External runtime: the addresses the release runs at, in order. */
  readonly addresses: readonly string[];
}

/** The instances of `release` stored in `color` now; empty when the color holds another. */
export function instancesIn(ctx: EffectContext, color: Color, release: string): InstanceSpec[] {
  const held = ctx.host.appState(ctx.state.app)?.environments[color].release ?? null;
  return held === null || held.id !== release ? [] : [...held.instances];
}

/** The number at the end of `shop-green-3`; null for any other name. */
function indexOf(app: string, color: Color, id: string): number | null {
  const match = new RegExp(`^${escapeRegExp(`${app}-${color}-`)}(\\d+)$`).exec(id);
  return match?.[1] === undefined ? null : Number(match[1]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first of `count` consecutive free instance numbers of a color. */
export function freeFirstIndex(app: string, color: Color, ids: readonly string[], count: number) {
  const used = new Set(ids.map((id) => indexOf(app, color, id)).filter((n) => n !== null));
  for (let first = 1; ; first += 1) {
    let free = true;
    for (let n = first; n < first + count && free; n += 1) free = !used.has(n);
    if (free) return first;
  }
}

function healthSpecOf(config: AppConfig): HealthCheckSpec {
  const { path, intervalMs, timeoutMs, rise, fall } = config.health;
  return { path, intervalMs, timeoutMs, rise, fall };
}

/** Stops instances whatever runtime started them: a runtime ignores ids it never had. */
export async function stopInstances(
  ctx: EffectContext,
  instances: readonly InstanceSpec[],
): Promise<void> {
  if (instances.length === 0) return;
  await ctx.runtimes.process?.stop(ctx.state.app, instances);
  await ctx.runtimes.external.stop(ctx.state.app, instances);
}

/**
 * Starts `count` instances of `release` and waits for them to pass their health check; then
 * adds them to `color` (they take traffic from then on). Unhealthy ones are stopped and the
 * start fails naming them. Never passes `signal` to what has started: an abort still ends here
 * with nothing running that is not recorded.
 */
export async function addInstances(
  ctx: EffectContext,
  color: Color,
  release: RollingRelease,
  count: number,
  signal?: AbortSignal,
): Promise<readonly InstanceSpec[]> {
  const app = ctx.state.app;
  const current = instancesIn(ctx, color, release.release);
  const firstIndex = freeFirstIndex(
    app,
    color,
    current.map((each) => each.id),
    count,
  );
  const base = { app, release: release.release, color, firstIndex };
  let started: readonly InstanceSpec[];
  if (release.config.runtime === 'external') {
    const taken = new Set(current.map((each) => each.address));
    const addresses = release.addresses.filter((each) => !taken.has(each)).slice(0, count);
    started = await ctx.runtimes.external.start({ ...base, addresses });
  } else {
    const runtime = ctx.runtimes.process;
    if (runtime === null) throw new Error('this daemon has no process runtime');
    const env = await resolveAppEnv(release.config.env, {
      releaseDir: release.dir,
      ...(ctx.environment === undefined ? {} : { environment: ctx.environment }),
    });
    const databaseUrl = await resolveDatabaseUrl(release, ctx.environment);
    if (databaseUrl !== null && release.config.database !== null) {
      env[release.config.database.env] = databaseUrl;
    }
    const spec = toProcessStartSpec(release.config, release.dir, env);
    // The runtime records the sources, never the secrets' values (docs/architecture.md).
    const envSources = appEnvSources(release.config, release.dir);
    started = await runtime.start({ ...base, process: { ...spec, instances: count, envSources } });
  }
  const addresses = started.map((each) => each.address);
  try {
    await ctx.health.waitHealthy(
      addresses,
      healthSpecOf(release.config),
      release.config.health.startTimeoutMs,
      signal,
    );
  } catch (error) {
    await stopInstances(ctx, started);
    throw error;
  }
  ctx.host.markUp(addresses);
  await ctx.host.setInstances(app, color, [
    ...instancesIn(ctx, color, release.release),
    ...started,
  ]);
  return started;
}

/**
 * Takes `instances` out of `color`'s routing (no new request picks them from the commit on),
 * gives their in-flight requests a short grace, then stops them: the app's own SIGTERM handling
 * finishes the rest within its stop timeout.
 */
export async function removeInstances(
  ctx: EffectContext,
  color: Color,
  release: string,
  instances: readonly InstanceSpec[],
): Promise<void> {
  const { stopped } = await takeOutInstances(ctx, color, release, instances);
  await stopped;
}

/**
 * `removeInstances` in two halves: resolves once `instances` are out of routing; `stopped`
 * settles once they are stopped after the grace, so the caller can watch meanwhile.
 */
export async function takeOutInstances(
  ctx: EffectContext,
  color: Color,
  release: string,
  instances: readonly InstanceSpec[],
): Promise<{ readonly stopped: Promise<void> }> {
  if (instances.length === 0) return { stopped: Promise.resolve() };
  const gone = new Set(instances.map((each) => each.id));
  const rest = instancesIn(ctx, color, release).filter((each) => !gone.has(each.id));
  await ctx.host.setInstances(ctx.state.app, color, rest);
  const stopped = (async () => {
    await ctx.clock.sleep(Math.min(REMOVED_INSTANCE_GRACE_MS, ctx.config.switch.drainTimeoutMs));
    await stopInstances(ctx, instances);
  })();
  // Awaited by the caller; this keeps a failure from being unhandled before it is.
  stopped.catch(() => undefined);
  return { stopped };
}

/**
 * After a daemon restart: instances of either color running but not stored there were started
 * and never added, or taken out and never stopped. Neither takes traffic: stop them, so the
 * counts the plan reads are the instances that run.
 */
export async function stopUnrecorded(ctx: EffectContext, colors: readonly Color[]) {
  const app = ctx.host.appState(ctx.state.app);
  const stray = (ctx.adopted?.() ?? []).filter((each) => {
    if (each.app !== ctx.state.app || each.color === null || !colors.includes(each.color)) {
      return false;
    }
    const stored = app?.environments[each.color].release?.instances ?? [];
    return !stored.some((instance) => instance.id === each.instance.id);
  });
  await stopInstances(
    ctx,
    stray.map((each) => each.instance),
  );
  return stray.length;
}
