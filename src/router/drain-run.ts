// One drain of one (app, color) on one router: waits for the color's public requests and
// WebSockets to end, gives long-lived ones a grace, and ends stragglers at the deadline.
import type { DrainOptions, DrainReport } from '../ports/traffic-switch.ts';
import type { ColorLoad, ColorLoadListener, Tracked, TrackedOutcome } from './color-load.ts';

/** After the deadline, how long stragglers get to finish their 504 or close before the drain reports anyway. */
export const DRAIN_SETTLE_MS = 2000;

export class DrainRun implements ColorLoadListener {
  readonly report: Promise<DrainReport>;
  private readonly load: ColorLoad;
  private readonly options: DrainOptions;
  private readonly startedAtMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private resolve: (report: DrainReport) => void = () => {};
  private open = 0;
  private completed = 0;
  private aborted = 0;
  private websocketsClosed = 0;
  private graceOver = false;
  private deadlineOver = false;
  private finished = false;

  constructor(load: ColorLoad, options: DrainOptions) {
    this.load = load;
    this.options = options;
    this.startedAtMs = performance.now();
    this.report = new Promise((resolve) => (this.resolve = resolve));
  }

  get app(): string {
    return this.load.app;
  }

  get color(): string {
    return this.load.color;
  }

  /** Begins watching the color; resolves at once when nothing public is open. */
  start(): void {
    this.load.listeners.add(this);
    for (const tracked of this.load.open) if (tracked.listener === 'public') this.open++;
    const graceMs = Math.max(0, Math.min(this.options.websocketGraceMs, this.options.timeoutMs));
    this.timers.push(setTimeout(() => this.graceEnded(), graceMs));
    this.timers.push(setTimeout(() => this.deadlineReached(), Math.max(0, this.options.timeoutMs)));
    this.check();
  }

  /** Ends the drain early: the color became live again (a rollback) or the router closed. */
  cancel(): void {
    this.finish(true);
  }

  started(tracked: Tracked): void {
    if (tracked.listener !== 'public') return;
    this.open++;
    // A request that arrives on a drained color after its grace or deadline (an upgrade that
    // completed late) is stopped at once, so the drain still ends on time.
    if (this.deadlineOver) tracked.stop('deadline');
    else if (this.graceOver && tracked.longLived) tracked.stop('grace');
  }

  ended(tracked: Tracked, outcome: TrackedOutcome): void {
    if (tracked.listener !== 'public') return;
    this.open--;
    if (outcome === 'aborted') this.aborted++;
    else if (outcome === 'closed') this.websocketsClosed++;
    else if (outcome === 'completed' && tracked.kind === 'request') this.completed++;
    this.check();
  }

  private graceEnded(): void {
    this.graceOver = true;
    for (const tracked of [...this.load.open]) {
      if (tracked.listener === 'public' && tracked.longLived) tracked.stop('grace');
    }
  }

  private deadlineReached(): void {
    this.deadlineOver = true;
    for (const tracked of [...this.load.open]) {
      if (tracked.listener === 'public') tracked.stop('deadline');
    }
    this.timers.push(
      setTimeout(() => {
        // Whatever is still open could not even be closed; count it and report.
        this.aborted += Math.max(0, this.open);
        this.finish(false);
      }, DRAIN_SETTLE_MS),
    );
    this.check();
  }

  private check(): void {
    if (this.open <= 0) this.finish(false);
  }

  private finish(cancelled: boolean): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.load.listeners.delete(this);
    this.resolve({
      app: this.load.app,
      color: this.load.color,
      completed: this.completed,
      aborted: this.aborted,
      websocketsClosed: this.websocketsClosed,
      durationMs: Math.round(performance.now() - this.startedAtMs),
      cancelled,
    });
  }
}
