// The built-in data plane as a TrafficSwitch: the public and preview listeners over a Router,
// in the calling thread (one worker) or in worker threads sharing the ports (several).
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { RoutingTable } from '../../../core/routing-table.ts';
import type { Address, Color } from '../../../core/types.ts';
import type {
  ApplyReport,
  DrainOptions,
  DrainReport,
  TrafficSnapshot,
  TrafficSwitch,
} from '../../../ports/traffic-switch.ts';
import type { ListenerLimits } from '../../../router/router-listener.ts';
import { startRouterHost } from '../../../router/router-host.ts';
import type { RouterHostOptions } from '../../../router/router-host.ts';
import type { UpstreamPoolOptions } from '../../../router/upstream-pools.ts';
import { createWorkerTrafficSwitch } from './worker-traffic-switch.ts';

/** How long `close()` waits for in-flight responses when no deadline is given. */
export const CLOSE_DEADLINE_MS = 10_000;

export interface BuiltinTrafficSwitchOptions {
  /** Port 0 binds an ephemeral port; the bound one is in `publicAddress`. */
  public: { host: string; port: number };
  preview: { host: string; port: number };
  /**
   * Router threads. 1 runs the router in the calling thread; N > 1 starts N worker threads
   * sharing the ports with SO_REUSEPORT (Linux). Default: `os.availableParallelism()`, every core.
   */
  workers?: number;
  /** Peers whose X-Forwarded-* are kept (appended to). */
  trustedProxies?: readonly string[];
  logger?: Logger;
  /** Client-side timeouts and limits (tests set them low). */
  limits?: Partial<ListenerLimits>;
  /** Upstream pool timeouts. */
  upstream?: Partial<UpstreamPoolOptions>;
  /**
   * Forward plain HTTP/1.1 requests on the raw-socket fast path (strict parse, re-serialized
   * head, body streamed by its validated framing); WebSocket, HTTP/1.0 and Expect go through
   * node:http. Default true; false sends everything through node:http.
   */
  fastPath?: boolean;
  /**
   * The routing table to serve from the first accepted connection (a daemon restarting after a
   * crash passes its stored table, so a known app never meets an empty one).
   */
  table?: RoutingTable;
  /** Seeds the traffic split's random draws, for tests that check shares; default Math.random. */
  splitSeed?: number;
}

export interface BuiltinTrafficSwitch extends TrafficSwitch {
  readonly publicAddress: { host: string; port: number };
  readonly previewAddress: { host: string; port: number };
}

export async function createBuiltinTrafficSwitch(
  o: BuiltinTrafficSwitchOptions,
): Promise<BuiltinTrafficSwitch> {
  const hostOptions: RouterHostOptions = {
    public: o.public,
    preview: o.preview,
    ...(o.trustedProxies === undefined ? {} : { trustedProxies: o.trustedProxies }),
    ...(o.limits === undefined ? {} : { limits: o.limits }),
    ...(o.upstream === undefined ? {} : { upstream: o.upstream }),
    fastPath: o.fastPath ?? true,
    ...(o.table === undefined ? {} : { table: o.table }),
    ...(o.splitSeed === undefined ? {} : { splitSeed: o.splitSeed }),
  };
  const workers = Math.max(1, Math.floor(o.workers ?? availableParallelism()));
  if (workers > 1) return createWorkerTrafficSwitch(hostOptions, workers, o.logger);

  const host = await startRouterHost(hostOptions);
  const { router } = host;
  return {
    publicAddress: host.publicAddress,
    previewAddress: host.previewAddress,
    apply(table: RoutingTable): Promise<ApplyReport> {
      const started = performance.now();
      router.apply(table);
      return Promise.resolve({
        generation: router.generation,
        durationMs: performance.now() - started,
        workers: 1,
      });
    },
    drain(app: string, color: Color, options: DrainOptions): Promise<DrainReport> {
      return router.drain(app, color, options);
    },
    setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void {
      router.setUpstreamHealth(health);
    },
    describe(): Promise<TrafficSnapshot> {
      return Promise.resolve({ generation: router.generation, workers: 1, apps: router.traffic() });
    },
    close(deadlineMs: number = CLOSE_DEADLINE_MS): Promise<void> {
      return host.close(deadlineMs);
    },
  };
}
