// A deadline that is cheap to move: setting or clearing it writes one number, and the single
// underlying node timer is only re-armed when the deadline moves earlier than it or when it
// fires early. The fast path moves its deadlines several times per request (headers, body,
// upstream, keep-alive); a setTimeout/clearTimeout pair for each was a measurable cost.

export class LazyTimer {
  readonly #callback: () => void;
  /** When the callback is due (performance.now() ms); Infinity when cleared. */
  #due = Infinity;
  #timer: NodeJS.Timeout | null = null;
  /** When the node timer fires; Infinity when none is armed. */
  #firesAt = Infinity;

  constructor(callback: () => void) {
    this.#callback = callback;
  }

  /** Calls back in `ms` unless set again or cleared before then. */
  set(ms: number): void {
    const due = performance.now() + ms;
    this.#due = due;
    if (this.#firesAt <= due) return;
    this.#arm(due, ms);
  }

  clear(): void {
    this.#due = Infinity;
  }

  /** Stops the node timer too: the owner is gone. */
  dispose(): void {
    this.#due = Infinity;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#firesAt = Infinity;
  }

  #arm(at: number, ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#firesAt = at;
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = null;
    this.#firesAt = Infinity;
    const due = this.#due;
    if (due === Infinity) return;
    const left = due - performance.now();
    if (left > 0) {
      this.#arm(due, Math.ceil(left));
      return;
    }
    this.#due = Infinity;
    this.#callback();
  };
}
