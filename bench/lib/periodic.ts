// Runs an action `count` times, one every `intervalMs` (a flip or a reload), never overlapping:
// if one takes longer than the interval, the next starts right after it. Nothing starts after
// `deadlineMs`, so every action happens inside the load window; a slow machine shows up as
// fewer actions done, or a longer elapsed time.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PeriodicReport {
  readonly done: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly durationsMs: readonly number[];
  /** From the first action's start to the last one's end. */
  readonly elapsedMs: number;
}

export async function runPeriodically(
  intervalMs: number,
  count: number,
  deadlineMs: number,
  action: (index: number) => Promise<void>,
): Promise<PeriodicReport> {
  const start = performance.now();
  const durationsMs: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  for (let index = 0; index < count; index += 1) {
    const due = start + index * intervalMs;
    const now = performance.now();
    if (now - start >= deadlineMs) break;
    if (due > now) await sleep(due - now);
    const began = performance.now();
    try {
      await action(index);
      durationsMs.push(performance.now() - began);
    } catch (error) {
      errors += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  return {
    done: durationsMs.length,
    errors,
    firstError,
    durationsMs,
    elapsedMs: performance.now() - start,
  };
}
