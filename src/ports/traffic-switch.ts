import type { RoutingTable } from '../core/routing-table.ts';
import type { Address, Color } from '../core/types.ts';

export interface ApplyReport {
  readonly generation: number;
  /** Milliseconds from the call until every worker committed the table. */
  readonly durationMs: number;
  readonly workers: number;
}

export interface DrainOptions {
  /** In-flight requests still open after this get a 504 (or a clean close) and are counted. */
  readonly timeoutMs: number;
  /** WebSockets and other upgraded connections get this long, then a close frame 1001. */
  readonly websocketGraceMs: number;
}

export interface DrainReport {
  readonly app: string;
  readonly color: Color;
  /** In-flight requests that were open when the drain began and finished normally. */
  readonly completed: number;
  /** Requests ended at the deadline with 504 or a close. */
  readonly aborted: number;
  readonly websocketsClosed: number;
  readonly durationMs: number;
  /** True when the color became live again before the drain ended (a rollback). */
  readonly cancelled: boolean;
}

export interface ColorTraffic {
  readonly inflight: number;
  readonly websockets: number;
  readonly requests: number;
  /** Responses the router itself generated as 5xx for this color (502/503/504). */
  readonly failed: number;
  /**
   * Responses an instance of this color answered with a 5xx status (WebSocket handshakes
   * included); the router's own 5xx stay in `failed`. Together they are the color's error rate.
   */
  readonly serverErrors: number;
  /**
   * Responses by time to the response head, counted per bucket: `latency[i]` counts those at
   * or under `LATENCY_BUCKETS_MS[i]`, the last entry those above every bound (one more entry
   * than the bounds, `LATENCY_BUCKETS_MS` in core/types.ts). Cumulative since the router started, like the other counters: take two
   * snapshots and subtract for a window (canary analysis). Optional for older switches.
   */
  readonly latency?: readonly number[];
  /** The sum of the latencies counted in `latency`, in ms (a histogram's `_sum`); optional too. */
  readonly latencySumMs?: number;
  /** Mirrored copies sent to this color / dropped by the rate or body bounds. */
  readonly mirrored?: number;
  readonly mirrorDropped?: number;
  /**
   * DNS switching: requests that reached this color's own address while it was not live
   * (clients still holding the old record after a flip). Counted, and served until the drain.
   */
  readonly stragglers?: number;
}

export interface TrafficSnapshot {
  readonly generation: number;
  readonly workers: number;
  readonly apps: Readonly<Record<string, Readonly<Record<Color, ColorTraffic>>>>;
}

/**
 * What moves traffic between colors. The built-in router is one implementation; HAProxy,
 * nginx and DNS adapters are others.
 *
 * Lifecycle: started by its factory (listeners bound), used until `close()`.
 * Invariants:
 * - `apply` is atomic: every request that starts after `apply` resolves uses the new table;
 *   no request ever sees a mix of two tables. Across workers it is two-phase (prepare, commit,
 *   ack). A table with a generation lower than the current one is ignored.
 * - A request is counted in flight against its (app, color) in the same tick it chose the color.
 * - `drain` never makes `apply` wait; draining a color that becomes live again cancels.
 * - The public listener serves each app's live color; the preview listener its idle color.
 */
export interface TrafficSwitch {
  apply(table: RoutingTable): Promise<ApplyReport>;
  drain(app: string, color: Color, options: DrainOptions): Promise<DrainReport>;
  /** Results of the active health checks; down upstreams are skipped while others are up. */
  setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void;
  describe(): Promise<TrafficSnapshot>;
  /** Stops accepting, lets in-flight responses finish with `Connection: close`, then closes. */
  close(deadlineMs?: number): Promise<void>;
}
