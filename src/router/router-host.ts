// A Router with its public and preview listeners, as one thread runs them (the calling thread
// when there is one router, each worker thread otherwise).
import type { RoutingTable } from '../core/routing-table.ts';
import { listenRouter } from './router-listener.ts';
import type { BoundListener, ListenerLimits } from './router-listener.ts';
import { Router } from './router.ts';
import type { UpstreamPoolOptions } from './upstream-pools.ts';

/** How often `close()` closes the connections that became idle after their last response. */
const CLOSE_POLL_MS = 25;
/** Share of the close deadline given to in-flight responses; the rest is for teardown. */
const CLOSE_GRACE_SHARE = 0.8;

/** Plain data only: worker threads receive it through structured clone. */
export interface RouterHostOptions {
  readonly public: { readonly host: string; readonly port: number };
  readonly preview: { readonly host: string; readonly port: number };
  readonly reusePort?: boolean;
  /** Forward plain requests on the raw-socket fast path (router-listener.ts). */
  readonly fastPath?: boolean;
  readonly trustedProxies?: readonly string[];
  readonly limits?: Partial<ListenerLimits>;
  readonly upstream?: Partial<UpstreamPoolOptions>;
  /** Seeds the split's random draws (tests); each worker adds its own index. */
  readonly splitSeed?: number;
  /** Applied before the listeners accept, so a (re)started router never answers from an empty table. */
  readonly table?: RoutingTable;
}

export interface RouterHost {
  readonly router: Router;
  readonly publicAddress: { host: string; port: number };
  readonly previewAddress: { host: string; port: number };
  close(deadlineMs: number): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startRouterHost(options: RouterHostOptions): Promise<RouterHost> {
  const router = new Router({
    ...(options.trustedProxies === undefined ? {} : { trustedProxies: options.trustedProxies }),
    ...(options.upstream === undefined ? {} : { upstream: options.upstream }),
    ...(options.splitSeed === undefined ? {} : { splitSeed: options.splitSeed }),
  });
  if (options.table !== undefined) router.apply(options.table);
  const common = {
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    reusePort: options.reusePort === true,
    fastPath: options.fastPath === true,
  };
  const publicListener = await listenRouter(router, 'public', { ...options.public, ...common });
  let previewListener: BoundListener;
  try {
    previewListener = await listenRouter(router, 'preview', { ...options.preview, ...common });
  } catch (error) {
    await publicListener.stopAccepting();
    throw error;
  }
  const listeners = [publicListener, previewListener];
  let closed: Promise<void> | null = null;

  async function close(deadlineMs: number): Promise<void> {
    const started = performance.now();
    router.beginClose();
    const stopped = Promise.all(listeners.map((listener) => listener.stopAccepting()));
    // In-flight responses finish (with Connection: close); idle connections close at once.
    while (router.openCount() > 0 && performance.now() - started < deadlineMs * CLOSE_GRACE_SHARE) {
      for (const listener of listeners) listener.closeIdle();
      await sleep(CLOSE_POLL_MS);
    }
    await router.destroy();
    for (const listener of listeners) listener.closeAll();
    await stopped;
  }

  return {
    router,
    publicAddress: publicListener.address,
    previewAddress: previewListener.address,
    close(deadlineMs: number): Promise<void> {
      closed ??= close(deadlineMs);
      return closed;
    },
  };
}
