// The real Clock: wall time for timestamps, performance.now() for durations and deadlines.
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../../ports/clock.ts';

function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}

export function createSystemClock(): Clock {
  return {
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(reasonOf(signal));
          return;
        }
        const onAbort = (): void => {
          clearTimeout(timer);
          if (signal !== undefined) reject(reasonOf(signal));
        };
        const timer = setTimeout(
          () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(0, ms),
        );
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}
