// The per-app deployment lock: one atomic compare-and-set in the store (QUALITY.md E2), kept
// alive while its holder works, so a crashed daemon's lock expires after LOCK_TTL_MS.
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.ts';
import type { StateStore } from '../ports/state-store.ts';

export const LOCK_TTL_MS = 15_000;
export const LOCK_RENEW_INTERVAL_MS = 5_000;

export interface HeldLock {
  release(): Promise<void>;
}

export async function holdAppLock(
  deps: { store: StateStore; clock: Clock; logger: Logger },
  app: string,
  holder: string,
  timing: { ttlMs: number; renewMs: number } = {
    ttlMs: LOCK_TTL_MS,
    renewMs: LOCK_RENEW_INTERVAL_MS,
  },
  options: { readonly takeOverFrom?: string } = {},
): Promise<HeldLock> {
  const lease = await deps.store.acquireLock(`app:${app}`, holder, timing.ttlMs, options);
  const stop = new AbortController();
  const renewing = (async () => {
    for (;;) {
      await deps.clock.sleep(timing.renewMs, stop.signal);
      await lease.renew();
    }
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) deps.logger.error({ err: error, app, holder }, 'lost the app lock');
  });
  return {
    async release() {
      stop.abort();
      await renewing;
      try {
        await lease.release();
      } catch (error) {
        // The lock then expires by itself after LOCK_TTL_MS.
        deps.logger.error({ err: error, app, holder }, 'could not release the app lock');
      }
    },
  };
}
