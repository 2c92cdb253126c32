// The rolling strategy's shift (issue 5): the live color's instances are replaced a batch at a
// time, at most the larger color plus one batch running at once. Each run of the effect does
// one batch: start new instances in the idle color (healthy first), give the idle color the
// share of public traffic its capacity carries, take old instances out of the live color and
// stop them, then watch the batch like the switch window (probes through the public listener,
// the new color's error rate). A failed batch, or an abort, puts traffic back on the old
// release. The plan reads only the stored instance counts (rolling-plan.ts), so a resumed
// daemon goes on from what is stored; the journal keeps what the counts cannot say.
// No instant rollback: after the flip the old color holds nothing to flip back to.
import type { RollingBatchView, RollingReport, RollingRestoreView } from '../client/api-types.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { Color, InstanceSpec } from '../core/types.ts';
import { verifySwitchWindow } from '../probes/verify-window.ts';
import type { EffectContext } from './effect-context.ts';
import {
  addInstances,
  instancesIn,
  stopUnrecorded,
  takeOutInstances,
} from './rolling-instances.ts';
import type { RollingRelease } from './rolling-instances.ts';
import { nextRollingMove, sharePercent } from './rolling-plan.ts';
import { restoreLiveColor } from './rolling-restore.ts';
import type { RestoreLimits } from './rolling-restore.ts';

/** Said in the report, the status and docs/strategies.md alike. */
export const ROLLING_NOTE =
  'no instant rollback: rolling replaces the live instances in place, so no standby is kept after the flip; going back means deploying the old release again';

/** What the shift keeps in the effect journal between runs and across restarts. */
interface RollingJournal {
  readonly liveTarget: number;
  readonly target: number;
  readonly batch: number;
  /** Set once a batch failed: every later run (a resume) finishes the restore. */
  readonly restoring: string | null;
  readonly batches: readonly RollingBatchView[];
  readonly restored: RollingRestoreView | null;
  /** The old instances taken out so far (an external runtime's are added back on a failure). */
  readonly removed: readonly InstanceSpec[];
}

function journalKey(ctx: EffectContext): string {
  return `${ctx.state.id}/shifting/rolling`;
}

async function saveJournal(ctx: EffectContext, journal: RollingJournal): Promise<void> {
  await ctx.store.putEffect({
    key: journalKey(ctx),
    status: journal.restoring === null ? 'begun' : 'done',
    result: journal,
    at: ctx.nowIso(),
  });
  const report: RollingReport = {
    note: ROLLING_NOTE,
    batch: journal.batch,
    liveTarget: journal.liveTarget,
    target: journal.target,
    batches: journal.batches,
    restored: journal.restored,
  };
  await ctx.report({ rolling: report });
}

/** The journal of this shift; the first run writes it from the live color as it is. */
async function loadJournal(ctx: EffectContext, live: Color): Promise<RollingJournal> {
  const entry = await ctx.store.getEffect(journalKey(ctx));
  if (entry !== null) return entry.result as RollingJournal;
  const liveRelease = ctx.host.appState(ctx.state.app)?.environments[live].release ?? null;
  const journal: RollingJournal = {
    liveTarget: liveRelease?.instances.length ?? 0,
    target:
      ctx.config.runtime === 'external'
        ? (ctx.request.instances?.length ?? 0)
        : ctx.config.instances,
    batch: ctx.config.rolling.batch,
    restoring: null,
    batches: [],
    restored: null,
    removed: [],
  };
  await saveJournal(ctx, journal);
  return journal;
}

function failed(ctx: EffectContext, reason: string): DeploymentEvent {
  return { type: 'ShiftFailed', reason, at: ctx.nowIso() };
}

/** The runner aborts the effect's signal with this reason when the daemon shuts down. */
function isShutdown(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof Error && reason.message === 'shutdown';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One run of the shift effect: one batch, the end of the shift, or the way back. */
export async function runRollingShift(ctx: EffectContext): Promise<DeploymentEvent> {
  const live = ctx.state.from;
  const idle = ctx.state.to;
  if (live === null || idle === null) {
    return failed(ctx, 'a rolling deployment needs a live color to replace, and there is none');
  }
  let journal = await loadJournal(ctx, live);
  if (journal.liveTarget === 0 || journal.target === 0) {
    return failed(ctx, `the live color ${live} holds no instances to replace`);
  }
  // Counted from the journal: a batch re-run after a restart keeps its number.
  const index = journal.batches.length;
  const label = `batch ${index + 1}`;
  // Old instances taken out of routing, stopping after their grace while the batch is watched.
  let pendingStop: Promise<void> = Promise.resolve();
  try {
    if (ctx.resuming) {
      const stopped = await stopUnrecorded(ctx, [live, idle]);
      if (stopped > 0) {
        await ctx.host.record(ctx.state.app, 'rolling-reconciled', {
          deployment: ctx.state.id,
          stopped,
        });
      }
    }
    if (journal.restoring !== null) return await restore(ctx, journal, journal.restoring);
    const liveId = ctx.host.appState(ctx.state.app)?.environments[live].release?.id ?? '';
    const old = (): number => instancesIn(ctx, live, liveId).length;
    const fresh = (): number => instancesIn(ctx, idle, ctx.state.release).length;
    if (ctx.resuming && fresh() > 0 && (ctx.host.appState(ctx.state.app)?.split ?? null) !== null) {
      // The daemon died during a batch: watch what is in place before going on.
      const watched = await watch(ctx, idle, 'the batch in place at the restart');
      if (watched.reason !== null) return await restore(ctx, journal, watched.reason);
    }
    const move = nextRollingMove({ ...journal, fresh: fresh(), old: old() });
    if (move.kind === 'done') {
      ctx.waiting(null);
      return { type: 'ShiftCompleted', at: ctx.nowIso() };
    }
    const release: RollingRelease = {
      release: ctx.state.release,
      dir: ctx.request.dir,
      config: ctx.config,
      addresses: ctx.request.instances ?? [],
    };
    if (move.start > 0) {
      ctx.waiting(`${label}: starting ${move.start} instances of ${ctx.state.release} on ${idle}`);
      await addInstances(ctx, idle, release, move.start, ctx.signal);
    }
    ctx.waiting(`${label}: ${move.percent}% of public traffic to ${idle}`);
    await ctx.host.setSplit(ctx.state.app, {
      color: idle,
      percent: move.percent,
      sticky: false,
      allow: { header: null, cookie: null },
    });
    // The watch starts as soon as the share is set: a release failing under its share is
    // caught while the old instances taken out are still stopping.
    if (move.remove > 0) {
      ctx.waiting(`${label}: taking ${move.remove} instances of ${liveId} out of ${live}`);
      const taken = instancesIn(ctx, live, liveId).slice(0, move.remove);
      journal = { ...journal, removed: [...journal.removed, ...taken] };
      await saveJournal(ctx, journal);
      ({ stopped: pendingStop } = await takeOutInstances(ctx, live, liveId, taken));
    }
    const watched = await watch(ctx, idle, label);
    const verdictMs = ctx.clock.monotonicMs();
    const record: RollingBatchView = {
      index,
      started: move.start,
      removed: move.remove,
      percent: sharePercent(fresh(), old()),
      fresh: fresh(),
      old: old(),
      ok: watched.reason === null,
      reason: watched.reason,
      probes: watched.probes,
      watchedMs: watched.durationMs,
    };
    journal = { ...journal, batches: [...journal.batches, record] };
    // A failed batch goes back at once (its record is saved with the restore's journal); the
    // old instances taken out stop meanwhile, before any start.
    if (watched.reason !== null) {
      return await restore(ctx, journal, watched.reason, pendingStop, verdictMs);
    }
    await saveJournal(ctx, journal);
    await pendingStop;
    return { type: 'ShiftStepPassed', index, percent: record.percent, at: ctx.nowIso() };
  } catch (error) {
    if (isShutdown(ctx.signal)) throw error;
    const reason = ctx.signal.aborted ? `${label}: aborted` : `${label}: ${errorText(error)}`;
    return restore(ctx, journal, reason, pendingStop);
  }
}

interface Watched {
  /** Null when the batch passed. */
  readonly reason: string | null;
  readonly probes: number;
  readonly durationMs: number;
}

/** The switch window's checks for `rolling.pause`, on the share the idle color has now. */
async function watch(ctx: EffectContext, idle: Color, label: string): Promise<Watched> {
  const settings = { ...ctx.config.switch, probeWindowMs: ctx.config.rolling.pauseMs };
  let probes = 0;
  ctx.waiting(`${label}: watching for ${settings.probeWindowMs} ms`);
  const result = await verifySwitchWindow(settings, {
    publicUrl: ctx.urls().public,
    host: ctx.config.hosts[0] ?? 'localhost',
    clock: ctx.clock,
    signal: ctx.signal,
    onProbe: () => {
      probes += 1;
    },
    traffic: async () => {
      const counts = (await ctx.traffic.describe()).apps[ctx.state.app]?.[idle];
      return {
        requests: counts?.requests ?? 0,
        failed: (counts?.failed ?? 0) + (counts?.serverErrors ?? 0),
      };
    },
  });
  if (!result.ok && result.stopped) throw new Error('stopped');
  return {
    reason: result.ok ? null : `${label}: ${result.reason}`,
    probes,
    durationMs: result.durationMs,
  };
}

/** Back to the old release, journaled first so a resumed daemon finishes it; then ShiftFailed. */
async function restore(
  ctx: EffectContext,
  journal: RollingJournal,
  reason: string,
  stopping: Promise<void> = Promise.resolve(),
  sinceMs: number = ctx.clock.monotonicMs(),
): Promise<DeploymentEvent> {
  const live = ctx.state.from;
  const idle = ctx.state.to;
  if (live === null || idle === null) return failed(ctx, reason);
  let saved: RollingJournal = { ...journal, restoring: reason };
  await saveJournal(ctx, saved);
  const { target, liveTarget, batch } = journal;
  const limits: RestoreLimits = { live, idle, target, liveTarget, batch };
  const result = await restoreLiveColor(
    ctx,
    limits,
    async () => {
      const known = await ctx.liveRelease?.();
      if (known === undefined || known === null) return null;
      return { ...known, addresses: journal.removed.map((each) => each.address) };
    },
    { stopping, sinceMs },
  );
  saved = { ...saved, restored: { ...result, reason } };
  await saveJournal(ctx, saved);
  const back =
    result.problem === null
      ? `all public traffic back on ${live} with ${result.live} instances of the old release (${result.started} started again)`
      : `public traffic back on ${live} with ${result.live} of ${journal.liveTarget} instances of the old release: ${result.problem}`;
  return failed(ctx, `${reason}; ${back}`);
}

/**
 * For the pipeline's `clear-split` of a rolling deployment (an abort taken up after a restart,
 * or a shift that crashed): finishes the way back to the old release when a batch had taken
 * old instances out. Idempotent: with the live color whole it only takes the share back; a
 * shift that never began a batch leaves nothing to do.
 */
export async function restoreRollingShift(ctx: EffectContext): Promise<void> {
  const live = ctx.state.from;
  const idle = ctx.state.to;
  if (live === null || idle === null) return;
  const entry = await ctx.store.getEffect(journalKey(ctx));
  if (entry === null) return;
  const journal = entry.result as RollingJournal;
  // The shift's own way back already ended (a failed batch): its report stands as it is.
  if (journal.restored !== null) return;
  await stopUnrecorded(ctx, [live, idle]);
  await restore(ctx, journal, journal.restoring ?? ctx.state.reason ?? 'the shift ended early');
}
