// The arithmetic of a rolling deployment (issue 5), pure: from the instances each color holds
// now, the next batch (how many new instances to start, the share of traffic they get, how many
// old ones to take out) and, after a failure, the next move back to the old release. It reads
// only counts, so a resumed shift plans from the stored state as a fresh one would.

/** What the shift knows at the start of a batch. */
export interface RollingCounts {
  /** Instances of the new release at the end (its `instances`). */
  readonly target: number;
  /** Instances of the live color when the shift began. */
  readonly liveTarget: number;
  /** `rolling.batch`: instances replaced per batch. */
  readonly batch: number;
  /** Instances of the new release in the idle color now. */
  readonly fresh: number;
  /** Instances of the live release still in the live color. */
  readonly old: number;
}

export type RollingMove =
  | { readonly kind: 'done' }
  | {
      readonly kind: 'batch';
      /** New instances to start in the idle color. */
      readonly start: number;
      /** The idle color's share of public traffic once they serve: its share of the capacity. */
      readonly percent: number;
      /** Old instances to take out of the live color after the share is set. */
      readonly remove: number;
    };

/** Never more instances than this at once: the larger color plus one batch. */
export function peakInstances(counts: Pick<RollingCounts, 'target' | 'liveTarget' | 'batch'>) {
  return Math.max(counts.target, counts.liveTarget) + counts.batch;
}

/** `fresh` of `fresh + old` instances, as a percent with two decimals (100 when all are new). */
export function sharePercent(fresh: number, old: number): number {
  if (fresh + old === 0 || old === 0) return 100;
  return Math.round((fresh * 10_000) / (fresh + old)) / 100;
}

/**
 * The next batch: start new instances while there is room under the peak, then take old ones
 * out as long as the capacity left stays at the smaller of the two colors' sizes. Every batch
 * moves something, so the shift ends; with equal sizes N it runs at most N + batch instances
 * and the share follows capacity (1 of 3 new: 33.33 %).
 */
export function nextRollingMove(counts: RollingCounts): RollingMove {
  assertCounts(counts);
  const { target, liveTarget, batch, fresh, old } = counts;
  if (fresh >= target && old === 0) return { kind: 'done' };
  const room = peakInstances(counts) - fresh - old;
  const start = fresh < target ? Math.max(0, Math.min(batch, target - fresh, room)) : 0;
  const serving = fresh + start;
  const floor = Math.min(target, liveTarget);
  const remove = Math.max(0, Math.min(batch, old, serving + old - floor));
  return { kind: 'batch', start, percent: sharePercent(serving, old - remove), remove };
}

/** What the shift knows when it puts traffic back on the old release. */
export interface RestoreCounts extends RollingCounts {
  /** A share of public traffic is on the idle color. */
  readonly split: boolean;
}

export type RestoreMove =
  | { readonly kind: 'done' }
  /** All public traffic back on the live color's instances at once. */
  | { readonly kind: 'clear-split' }
  /** Start this many instances of the old release in the live color. */
  | { readonly kind: 'start-old'; readonly count: number }
  /** Take this many new instances out of the idle color and stop them, to make room. */
  | { readonly kind: 'stop-fresh'; readonly count: number };

/**
 * The next move back to the old release with `liveTarget` instances: the share goes first
 * whenever an old instance is left to serve; with none left, old instances start first (the
 * new release serves meanwhile), then the share goes. Stays under the same peak as the shift.
 */
export function nextRestoreMove(counts: RestoreCounts): RestoreMove {
  assertCounts(counts);
  const { liveTarget, fresh, old, split } = counts;
  if (old >= liveTarget) return split ? { kind: 'clear-split' } : { kind: 'done' };
  if (split && old > 0) return { kind: 'clear-split' };
  const missing = liveTarget - old;
  const room = peakInstances(counts) - fresh - old;
  if (room >= 1) return { kind: 'start-old', count: Math.min(room, missing) };
  // No room: new instances go. While they still serve alone, one of them stays.
  const count = split ? Math.min(fresh - 1, 1 - room) : Math.min(fresh, missing - room);
  return { kind: 'stop-fresh', count };
}

function assertCounts(counts: RollingCounts): void {
  for (const [name, value] of Object.entries(counts)) {
    if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0)) {
      throw new RangeError(`rolling plan: ${name} must be a whole number from 0, got ${value}`);
    }
  }
  if (counts.batch < 1 || counts.target < 1 || counts.liveTarget < 1) {
    throw new RangeError('rolling plan: batch, target and liveTarget must be at least 1');
  }
}
