import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nextRestoreMove, nextRollingMove, peakInstances, sharePercent } from './rolling-plan.ts';
import type { RestoreCounts, RollingCounts } from './rolling-plan.ts';

interface Trace {
  readonly moves: readonly { start: number; percent: number; remove: number }[];
  readonly peak: number;
  readonly end: RollingCounts;
}

/** Applies moves as the shift does (start, share, remove) until done; bounded. */
function roll(counts: RollingCounts): Trace {
  let now = counts;
  let peak = now.fresh + now.old;
  const moves: { start: number; percent: number; remove: number }[] = [];
  for (let i = 0; i < 1000; i += 1) {
    const move = nextRollingMove(now);
    if (move.kind === 'done') return { moves, peak, end: now };
    moves.push({ start: move.start, percent: move.percent, remove: move.remove });
    now = { ...now, fresh: now.fresh + move.start };
    peak = Math.max(peak, now.fresh + now.old);
    now = { ...now, old: now.old - move.remove };
  }
  throw new Error(`no end after 1000 batches from ${JSON.stringify(counts)}`);
}

/** Applies restore moves until done; bounded. Returns the peak and the moves' kinds. */
function restore(counts: RestoreCounts): { kinds: string[]; peak: number; end: RestoreCounts } {
  let now = counts;
  let peak = now.fresh + now.old;
  const kinds: string[] = [];
  for (let i = 0; i < 1000; i += 1) {
    const move = nextRestoreMove(now);
    if (move.kind === 'done') return { kinds, peak, end: now };
    kinds.push(move.kind === 'clear-split' ? move.kind : `${move.kind} ${move.count}`);
    if (move.kind === 'clear-split') now = { ...now, split: false };
    if (move.kind === 'start-old') now = { ...now, old: now.old + move.count };
    if (move.kind === 'stop-fresh') now = { ...now, fresh: now.fresh - move.count };
    // Never a moment with nobody serving: the share goes only with an old instance left.
    assert.ok(now.old > 0 || (now.split && now.fresh > 0), JSON.stringify(now));
    peak = Math.max(peak, now.fresh + now.old);
  }
  throw new Error(`no end after 1000 moves from ${JSON.stringify(counts)}`);
}

void describe('nextRollingMove', () => {
  void it('replaces 3 instances one at a time at 4 at most, the share following capacity', () => {
    const trace = roll({ target: 3, liveTarget: 3, batch: 1, fresh: 1, old: 3 });
    assert.deepEqual(trace.moves, [
      { start: 0, percent: 33.33, remove: 1 },
      { start: 1, percent: 66.67, remove: 1 },
      { start: 1, percent: 100, remove: 1 },
    ]);
    assert.equal(trace.peak, 4);
    assert.deepEqual([trace.end.fresh, trace.end.old], [3, 0]);
  });

  void it('replaces 4 instances two at a time', () => {
    const trace = roll({ target: 4, liveTarget: 4, batch: 2, fresh: 2, old: 4 });
    assert.deepEqual(trace.moves, [
      { start: 0, percent: 50, remove: 2 },
      { start: 2, percent: 100, remove: 2 },
    ]);
    assert.equal(trace.peak, 6);
  });

  void it('plans a resumed shift from the stored counts alone', () => {
    // Killed after the second batch's start and share, before its old instance went out.
    assert.deepEqual(nextRollingMove({ target: 3, liveTarget: 3, batch: 1, fresh: 2, old: 2 }), {
      kind: 'batch',
      start: 0,
      percent: 66.67,
      remove: 1,
    });
    // Killed after the last batch: nothing left to do but the flip.
    assert.deepEqual(nextRollingMove({ target: 3, liveTarget: 3, batch: 1, fresh: 3, old: 0 }), {
      kind: 'done',
    });
  });

  void it('grows from 3 to 5 and shrinks from 5 to 3 without dropping under 3', () => {
    const up = roll({ target: 5, liveTarget: 3, batch: 1, fresh: 1, old: 3 });
    assert.ok(up.peak <= 6, `peak ${up.peak}`);
    assert.deepEqual([up.end.fresh, up.end.old], [5, 0]);
    const down = roll({ target: 3, liveTarget: 5, batch: 1, fresh: 1, old: 5 });
    assert.ok(down.peak <= 6, `peak ${down.peak}`);
    assert.deepEqual([down.end.fresh, down.end.old], [3, 0]);
  });

  void it('refuses counts that are not whole numbers, and a batch of 0', () => {
    assert.throws(
      () => nextRollingMove({ target: 3, liveTarget: 3, batch: 0, fresh: 1, old: 3 }),
      /batch, target and liveTarget must be at least 1/,
    );
    assert.throws(
      () => nextRollingMove({ target: 3, liveTarget: 3, batch: 1, fresh: -1, old: 3 }),
      /fresh must be a whole number from 0, got -1/,
    );
  });

  void it('always ends with the target new and no old, under the peak, capacity kept', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 6 }),
        (target, liveTarget, batch) => {
          const counts = {
            target,
            liveTarget,
            batch,
            fresh: Math.min(batch, target),
            old: liveTarget,
          };
          const trace = roll(counts);
          assert.ok(trace.peak <= peakInstances(counts), JSON.stringify(trace));
          assert.deepEqual([trace.end.fresh, trace.end.old], [target, 0]);
          let fresh = counts.fresh;
          let old = counts.old;
          for (const move of trace.moves) {
            assert.ok(move.start + move.remove > 0, 'a batch that moves nothing');
            assert.ok(move.start <= batch && move.remove <= batch);
            fresh += move.start;
            old -= move.remove;
            assert.ok(fresh + old >= Math.min(target, liveTarget), 'capacity dropped');
            assert.equal(move.percent, sharePercent(fresh, old));
          }
        },
      ),
    );
  });
});

void describe('sharePercent', () => {
  void it('gives two decimals, 100 once the old color is empty', () => {
    assert.equal(sharePercent(1, 2), 33.33);
    assert.equal(sharePercent(2, 1), 66.67);
    assert.equal(sharePercent(1, 7), 12.5);
    assert.equal(sharePercent(3, 0), 100);
    assert.equal(sharePercent(0, 3), 0);
  });
});

void describe('nextRestoreMove', () => {
  void it('takes the share back first while old instances are left, then starts the missing', () => {
    const trace = restore({ target: 3, liveTarget: 3, batch: 1, fresh: 2, old: 1, split: true });
    assert.deepEqual(trace.kinds, ['clear-split', 'start-old 1', 'stop-fresh 1', 'start-old 1']);
    assert.equal(trace.peak, 4);
    assert.equal(trace.end.old, 3);
  });

  void it('with the live color empty, starts old instances before the share goes', () => {
    const trace = restore({ target: 3, liveTarget: 3, batch: 1, fresh: 3, old: 0, split: true });
    // Once the share is back on the old instance, the idle new ones go as a whole.
    assert.deepEqual(trace.kinds, ['start-old 1', 'clear-split', 'stop-fresh 2', 'start-old 2']);
    assert.equal(trace.peak, 4);
  });

  void it('does nothing when the live color is whole and holds all traffic', () => {
    assert.deepEqual(
      nextRestoreMove({ target: 3, liveTarget: 3, batch: 1, fresh: 1, old: 3, split: false }),
      { kind: 'done' },
    );
    assert.deepEqual(
      nextRestoreMove({ target: 3, liveTarget: 3, batch: 1, fresh: 1, old: 3, split: true }),
      { kind: 'clear-split' },
    );
  });

  void it('always ends whole, unshared, under the peak, never with nobody serving', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        (target, liveTarget, batch, freshSeed, oldSeed, split) => {
          const limits = { target, liveTarget, batch };
          const peak = peakInstances(limits);
          const old = oldSeed % (liveTarget + 1);
          const fresh = Math.max(split && old === 0 ? 1 : 0, freshSeed % (peak - old + 1));
          // The shift leaves someone serving: old instances, or new ones holding the share.
          fc.pre(fresh + old <= peak && (old > 0 || (split && fresh > 0)));
          const trace = restore({ ...limits, fresh, old, split: split && fresh > 0 });
          assert.equal(trace.end.old, liveTarget);
          assert.equal(trace.end.split, false);
          assert.ok(trace.peak <= peak, JSON.stringify(trace));
        },
      ),
    );
  });
});
