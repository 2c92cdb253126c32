// A failed (or aborted) rolling batch: traffic goes back to the old release as fast as it goes.
// The share on the new color is taken back at once while an old instance is left to serve;
// old instances are started again in the live color up to the count it had; new ones are
// stopped only to stay under the shift's peak (the pipeline's clean-up stops the rest).
// Idempotent: it reads the stored counts each move, so a resumed daemon finishes it.
import type { Color } from '../core/types.ts';
import type { EffectContext } from './effect-context.ts';
import { addInstances, instancesIn, removeInstances } from './rolling-instances.ts';
import type { RollingRelease } from './rolling-instances.ts';
import { nextRestoreMove } from './rolling-plan.ts';

/** Each move is retried this often before the restore gives up and says what is left. */
const RESTORE_ATTEMPTS = 3;
/** More moves than any restore needs: a bound, not a tuning knob. */
const MAX_RESTORE_MOVES = 200;

export interface RestoreLimits {
  readonly live: Color;
  readonly idle: Color;
  /** Instances of the new release at the end (the peak is counted with it). */
  readonly target: number;
  /** Instances the live color held when the shift began: what it gets back. */
  readonly liveTarget: number;
  readonly batch: number;
}

export interface RestoreResult {
  readonly started: number;
  readonly stopped: number;
  /** Instances of the old release serving at the end. */
  readonly live: number;
  /** Why the live color is short of `liveTarget`; null when it is whole. */
  readonly problem: string | null;
  /** From the start of the restore until no public request goes to the new release. */
  readonly trafficBackMs: number;
  /** Until the live color was whole again (or the restore gave up). */
  readonly durationMs: number;
}

export interface RestoreOptions {
  /**
   * Old instances still stopping after the batch took them out: the share goes back before
   * they are waited for, any start after, so the peak holds.
   */
  readonly stopping?: Promise<void>;
  /** The clock's monotonic ms of the failed batch's verdict: the timings count from it. */
  readonly sinceMs?: number;
}

/** Puts all public traffic back on the old release with `liveTarget` instances. */
export async function restoreLiveColor(
  ctx: EffectContext,
  limits: RestoreLimits,
  oldRelease: () => Promise<RollingRelease | null>,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const stopping = options.stopping ?? Promise.resolve();
  const app = ctx.state.app;
  const liveId = ctx.host.appState(app)?.environments[limits.live].release?.id ?? null;
  let started = 0;
  let stopped = 0;
  let problem: string | null = null;
  const begun = options.sinceMs ?? ctx.clock.monotonicMs();
  const elapsed = (): number => Math.round(ctx.clock.monotonicMs() - begun);
  let trafficBackMs: number | null = null;
  for (let moves = 0; moves < MAX_RESTORE_MOVES; moves += 1) {
    const state = ctx.host.appState(app);
    const split = state?.split ?? null;
    const old = liveId === null ? [] : instancesIn(ctx, limits.live, liveId);
    const fresh = instancesIn(ctx, limits.idle, ctx.state.release);
    const move = nextRestoreMove({
      ...limits,
      fresh: fresh.length,
      old: old.length,
      split: split !== null && split.percent > 0,
    });
    if (move.kind === 'done') break;
    if (move.kind === 'clear-split') {
      ctx.waiting(`putting all public traffic back on ${limits.live}`);
      await ctx.host.setSplit(app, null);
      trafficBackMs = elapsed();
      continue;
    }
    // A stop that failed leaves its process to the resume's clean-up of unrecorded instances.
    await stopping.catch(() => undefined);
    if (move.kind === 'stop-fresh') {
      ctx.waiting(`stopping ${move.count} instances of ${ctx.state.release} to make room`);
      await removeInstances(ctx, limits.idle, ctx.state.release, fresh.slice(-move.count));
      stopped += move.count;
      continue;
    }
    const release = liveId === null ? null : await oldRelease();
    if (release === null) {
      problem = `the live release's folder and config are not known, so its instances cannot be started again`;
      break;
    }
    ctx.waiting(`starting ${move.count} instances of ${release.release} on ${limits.live} again`);
    const error = await attempt(() => addInstances(ctx, limits.live, release, move.count));
    if (error !== null) {
      problem = `${move.count} instances of ${release.release} could not be started again: ${error}`;
      break;
    }
    started += move.count;
  }
  await stopping.catch(() => undefined);
  // Whatever else failed, the share goes: the old release serves what it can.
  if ((ctx.host.appState(app)?.split ?? null) !== null) {
    await ctx.host.setSplit(app, null);
    trafficBackMs = elapsed();
  }
  const live = liveId === null ? 0 : instancesIn(ctx, limits.live, liveId).length;
  const durationMs = elapsed();
  return { started, stopped, live, problem, trafficBackMs: trafficBackMs ?? 0, durationMs };
}

async function attempt(run: () => Promise<unknown>): Promise<string | null> {
  let last = '';
  for (let i = 0; i < RESTORE_ATTEMPTS; i += 1) {
    try {
      await run();
      return null;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
  }
  return last;
}
