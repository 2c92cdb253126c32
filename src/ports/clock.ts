/**
 * Time, injected so the core and tests never read the wall clock directly.
 * Lifecycle: stateless; safe to share. Invariant: `monotonicMs` never goes backwards.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
  nowMs(): number;
  /** Monotonic milliseconds, for durations and deadlines. */
  monotonicMs(): number;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
