// Per (app, color) load: the counters `describe()` reports and the set of open exchanges a
// drain waits for. One instance per (app, color) per router; never shared across workers.
import type { Color } from '../core/types.ts';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';

export type ListenerName = 'public' | 'preview';

/** How a tracked request or WebSocket ended, as a drain counts it. */
export type TrackedOutcome = 'completed' | 'aborted' | 'closed' | 'upgraded';

/** One open request or WebSocket, as a drain sees it. */
export interface Tracked {
  readonly kind: 'request' | 'websocket';
  readonly listener: ListenerName;
  /** True for WebSockets and event streams: they get the drain's grace, then a polite close. */
  readonly longLived: boolean;
  /** Ends the exchange for a drain: 'grace' closes politely, 'deadline' ends it with 504 or a close. */
  stop(reason: 'grace' | 'deadline'): void;
}

export interface ColorLoadListener {
  started(tracked: Tracked): void;
  ended(tracked: Tracked, outcome: TrackedOutcome): void;
}

export class ColorLoad {
  readonly app: string;
  readonly color: Color;
  inflight = 0;
  websockets = 0;
  requests = 0;
  /** Responses the router generated as 5xx (it had no answer from an instance to relay). */
  failed = 0;
  /** Responses an instance answered with a 5xx status, relayed as they came. */
  serverErrors = 0;
  /** Responses by time to the response head: one count per LATENCY_BUCKETS_MS bound, plus one above all. */
  readonly latency: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  /** The sum of the latencies counted in `latency`, in ms (a histogram's `_sum`). */
  latencySumMs = 0;
  /** Copies of public requests sent to this color / not sent (rate, body size, in-flight bounds). */
  mirrored = 0;
  mirrorDropped = 0;
  readonly open = new Set<Tracked>();
  readonly listeners = new Set<ColorLoadListener>();

  constructor(app: string, color: Color) {
    this.app = app;
    this.color = color;
  }

  /** Counts a request in flight; called in the same tick the color was chosen. */
  begin(tracked: Tracked): void {
    if (tracked.kind === 'request') {
      this.inflight++;
      this.requests++;
    } else {
      this.websockets++;
    }
    this.open.add(tracked);
    for (const listener of this.listeners) listener.started(tracked);
  }

  /** Moves an upgraded request from the in-flight count to the WebSocket count. */
  upgraded(request: Tracked, websocket: Tracked): void {
    if (this.open.delete(request)) this.inflight--;
    this.websockets++;
    this.open.add(websocket);
    // Started before ended: a drain must never see zero open in between and report early.
    for (const listener of this.listeners) {
      listener.started(websocket);
      listener.ended(request, 'upgraded');
    }
  }

  /** Counts one response head that arrived `ms` after its request. */
  observeLatency(ms: number): void {
    const bounds = LATENCY_BUCKETS_MS;
    let i = 0;
    // Most responses are fast: a linear scan from the smallest bound stops early.
    while (i < bounds.length && ms > (bounds[i] as number)) i++;
    this.latency[i] = (this.latency[i] ?? 0) + 1;
    this.latencySumMs += ms;
  }

  end(tracked: Tracked, outcome: TrackedOutcome): void {
    if (!this.open.delete(tracked)) return;
    if (tracked.kind === 'request') this.inflight--;
    else this.websockets--;
    for (const listener of this.listeners) listener.ended(tracked, outcome);
  }
}

export function loadKey(app: string, color: Color): string {
  return `${app}\u0000${color}`;
}
