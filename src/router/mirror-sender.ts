// Mirroring: copies of an app's public requests sent to its idle color, answers read and
// discarded. A copy never touches the live exchange: it has its own connection pool, its own
// timeouts, and bounds (a rate per app, copies in flight) that drop copies rather than queue
// them, so a slow, hanging or failing mirror costs the live path nothing but the copy itself.
import { Agent } from 'undici';
import type { Address, TrafficMirror } from '../core/types.ts';
import type { ColorLoad } from './color-load.ts';

/** Copies in flight per router thread; beyond it copies are dropped (a hanging mirror). */
export const MIRROR_MAX_INFLIGHT = 64;
/** A copy's answer must start, and keep coming, within this; then the copy is abandoned. */
export const MIRROR_TIMEOUT_MS = 10_000;
/** A chunked body's copy starts in a buffer of this size, doubled as the body grows. */
const MIRROR_BODY_MIN_CAPACITY_BYTES = 4096;
/** The field every copy carries, so the idle color can tell copies from real traffic. */
export const MIRROR_HEADER = 'X-Cutover-Mirror';

/** Request fields a copy never carries: its own marker, and Expect (a copy has its body in full). */
const DROPPED_FIELDS: ReadonlySet<string> = new Set(['x-cutover-mirror', 'expect']);

export interface MirrorCopy {
  readonly method: string;
  /** The origin-form target the live request was sent with. */
  readonly path: string;
  /** The fields sent upstream for the live request (hop-by-hop stripped, X-Forwarded-* set). */
  readonly headers: readonly string[];
  readonly body: Buffer | null;
}

/**
 * A mirrored copy waiting for its request body: it keeps a copy of the body bytes forwarded to
 * the live color, sends the copy once the body ends within `maxBytes`, and cancels it (a
 * dropped copy) past the bound, when the body ends short of its announced length, or when the
 * live exchange ends first. The copy then goes with a Content-Length, whatever the framing
 * the client used. It settles exactly once; later calls do nothing.
 */
export class MirrorBody {
  /**
   * The body's bytes so far, copied into one buffer: of the announced length for a
   * Content-Length body, grown by doubling (up to `maxBytes`) for a chunked one. One buffer,
   * never one per chunk: a body sent in 1-byte chunks would hold a hundred times its size.
   */
  #whole: Buffer | null = null;
  #bytes = 0;
  #settled = false;
  readonly #maxBytes: number;
  /** The Content-Length the client announced; null for a chunked body. */
  readonly #length: number | null;
  readonly #send: (body: Buffer) => void;
  readonly #cancel: () => void;

  constructor(
    maxBytes: number,
    length: number | null,
    send: (body: Buffer) => void,
    cancel: () => void,
  ) {
    this.#maxBytes = maxBytes;
    this.#length = length;
    this.#send = send;
    this.#cancel = cancel;
  }

  /** True once the copy was sent or cancelled. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Adds body bytes as they are forwarded; past the bound the copy is cancelled. */
  add(bytes: Buffer): void {
    if (this.#settled || bytes.length === 0) return;
    this.#bytes += bytes.length;
    if (this.#bytes > this.#maxBytes || (this.#length !== null && this.#bytes > this.#length)) {
      this.cancel();
      return;
    }
    // A copy: the bytes may be a view of a buffer the connection reuses.
    const at = this.#bytes - bytes.length;
    if (this.#whole === null || this.#whole.length < this.#bytes) {
      const capacity =
        this.#length ??
        Math.min(
          this.#maxBytes,
          Math.max(this.#bytes, 2 * (this.#whole?.length ?? 0), MIRROR_BODY_MIN_CAPACITY_BYTES),
        );
      const grown = Buffer.allocUnsafe(capacity);
      this.#whole?.copy(grown, 0, 0, at);
      this.#whole = grown;
    }
    bytes.copy(this.#whole, at);
  }

  /** The body ended (its trailers, if any, are not copied): the copy leaves with all of it. */
  end(): void {
    if (this.#settled) return;
    if (this.#length !== null && this.#bytes !== this.#length) {
      this.cancel();
      return;
    }
    this.#settled = true;
    const body = this.#whole?.subarray(0, this.#bytes) ?? Buffer.alloc(0);
    this.#whole = null;
    this.#send(body);
  }

  cancel(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#whole = null;
    this.#cancel();
  }
}

/** A token bucket of one app's copies: `maxPerSecond` a second, bursts of at most that many. */
class CopyRate {
  perSecond: number;
  tokens: number;
  last: number;

  constructor(perSecond: number, now: number) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
    this.last = now;
  }

  take(perSecond: number, now: number): boolean {
    if (perSecond !== this.perSecond) {
      this.perSecond = perSecond;
      this.tokens = Math.min(this.tokens, perSecond);
    }
    this.tokens = Math.min(perSecond, this.tokens + ((now - this.last) * perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface MirrorSenderOptions {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Milliseconds on a monotonic clock (tests may drive it). */
  readonly now?: () => number;
}

export class MirrorSender {
  readonly #agent: Agent;
  readonly #rates = new Map<string, CopyRate>();
  readonly #now: () => number;
  #inflight = 0;

  constructor(options: MirrorSenderOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#agent = new Agent({
      connections: MIRROR_MAX_INFLIGHT,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: MIRROR_TIMEOUT_MS,
      bodyTimeout: MIRROR_TIMEOUT_MS,
      keepAliveTimeout: options.idleTimeoutMs,
      keepAliveMaxTimeout: options.idleTimeoutMs,
    });
    this.#agent.on('connectionError', () => {});
  }

  /** Copies in flight right now (reserved or sent, not yet answered). */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Reserves one copy of a request of `app` under the rate and in-flight bounds. True: the
   * caller must later `send` or `cancel` it; false: it was counted as dropped on `load`.
   */
  admit(app: string, mirror: TrafficMirror, load: ColorLoad): boolean {
    const now = this.#now();
    let rate = this.#rates.get(app);
    if (rate === undefined) {
      rate = new CopyRate(mirror.maxPerSecond, now);
      this.#rates.set(app, rate);
    }
    if (this.#inflight >= MIRROR_MAX_INFLIGHT || !rate.take(mirror.maxPerSecond, now)) {
      load.mirrorDropped++;
      return false;
    }
    this.#inflight++;
    return true;
  }

  /** Gives back an admitted copy that will not be sent (its body never arrived in full). */
  cancel(load: ColorLoad): void {
    this.#inflight--;
    load.mirrorDropped++;
  }

  /** Sends an admitted copy to `address`; its answer is read and thrown away, errors ignored. */
  send(address: Address, copy: MirrorCopy, load: ColorLoad): void {
    const headers: string[] = [];
    for (let i = 0; i + 1 < copy.headers.length; i += 2) {
      const name = copy.headers[i] as string;
      if (!DROPPED_FIELDS.has(name.toLowerCase()))
        headers.push(name, copy.headers[i + 1] as string);
    }
    headers.push(MIRROR_HEADER, '1');
    load.mirrored++;
    let answered: Promise<unknown>;
    try {
      answered = this.#agent
        .request({
          origin: `http://${address}`,
          path: copy.path,
          method: copy.method,
          headers,
          body: copy.body,
        })
        .then((response) => response.body.dump());
    } catch {
      answered = Promise.resolve();
    }
    void answered
      .catch(() => {})
      .finally(() => {
        this.#inflight--;
      });
  }

  /** Forgets the rates of apps no longer mirrored. */
  retain(apps: ReadonlySet<string>): void {
    for (const app of this.#rates.keys()) if (!apps.has(app)) this.#rates.delete(app);
  }

  async close(): Promise<void> {
    await this.#agent.destroy().catch(() => {});
  }
}
