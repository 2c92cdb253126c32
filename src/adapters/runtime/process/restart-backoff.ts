// When to restart a crashed instance: exponential backoff, capped, reset once an instance has
// run long enough to count as stable; and when its crashes count as a crash loop. Pure: times
// come in as arguments.

export interface RestartBackoffOptions {
  /** The first restart's delay; each consecutive crash doubles it. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** An instance that ran this long before crashing starts the backoff over. */
  readonly stableAfterMs: number;
  /** This many crashes inside `crashLoopWindowMs` make a crash loop. */
  readonly crashLoopCrashes: number;
  readonly crashLoopWindowMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoffOptions = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  crashLoopCrashes: 5,
  crashLoopWindowMs: 120_000,
};

export interface CrashVerdict {
  readonly restartInMs: number;
  /** Crashes inside the crash-loop window, this one included. */
  readonly recentCrashes: number;
  /** True on the crash that starts a crash loop (reported once per loop). */
  readonly crashLoopStarted: boolean;
}

export interface RestartBackoff {
  /** Records a crash of an instance that started at `startedAtMs`, at `nowMs`. */
  crashed(startedAtMs: number, nowMs: number): CrashVerdict;
}

export function createRestartBackoff(options: RestartBackoffOptions): RestartBackoff {
  let consecutive = 0;
  let crashTimes: number[] = [];
  let looping = false;
  return {
    crashed(startedAtMs, nowMs) {
      if (nowMs - startedAtMs >= options.stableAfterMs) consecutive = 0;
      consecutive += 1;
      crashTimes = [...crashTimes.filter((t) => nowMs - t < options.crashLoopWindowMs), nowMs];
      const inLoop = crashTimes.length >= options.crashLoopCrashes;
      const crashLoopStarted = inLoop && !looping;
      looping = inLoop;
      const restartInMs = Math.min(
        options.maxDelayMs,
        options.baseDelayMs * 2 ** Math.min(consecutive - 1, 30),
      );
      return { restartInMs, recentCrashes: crashTimes.length, crashLoopStarted };
    },
  };
}
