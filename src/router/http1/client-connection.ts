// Protocol engine: the raw-socket forwarding path of the router. One ClientConnection per
// accepted TCP connection parses each request head strictly (head-parser.ts), decides its body
// framing itself (message-framing.ts, RFC 9112 §6.3), re-serializes the head, and streams the
// body by that validated framing to a pooled upstream connection; the response comes back the
// same way. Requests it does not take on (HTTP/1.0, Upgrade, Expect) are handed, connection
// and buffered bytes together, to the node:http server that handles the rest of the router.
//
// Exchanges on one connection run one at a time: a pipelined request waits in the buffer until
// the response before it has been written (RFC 9112 §9.3.2).
import type net from 'node:net';
import type { ErrorCode } from '../../core/errors.ts';
import type { Address } from '../../core/types.ts';
import { ChunkedDecoder } from './chunked-decoder.ts';
import type { RequestHead, ResponseHead } from './head-parser.ts';
import {
  findHeadEnd,
  parseRequestHead,
  parseResponseHead,
  encodeHead,
  serializeResponseHead,
} from './head-parser.ts';
import type { BodyFraming } from './message-framing.ts';
import { requestFraming, responseFraming } from './message-framing.ts';
import { LazyTimer } from './lazy-timer.ts';
import type {
  UpstreamConnection,
  UpstreamOwner,
  UpstreamSocketPool,
} from './upstream-socket-pool.ts';

export interface Http1Limits {
  /** From the first byte of a head to its end. */
  readonly headersTimeoutMs: number;
  /** From the end of the head to the end of the request body. */
  readonly requestTimeoutMs: number;
  /** Idle time allowed between two requests on one connection. */
  readonly keepAliveTimeoutMs: number;
  /** From the request sent to the response head received. */
  readonly upstreamHeadersTimeoutMs: number;
  /** Longest silence within an upstream response body. */
  readonly upstreamBodyTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

export interface PeerInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/** How an exchange ended, for the router's counters and its drains. */
export type ExchangeOutcome = 'completed' | 'failed' | 'aborted' | 'client-gone';

export interface ExchangeHooks {
  /** Called exactly once per forwarded exchange. */
  onEnd(outcome: ExchangeOutcome, status: number): void;
  /** The router answered with a 5xx of its own (for the failed counter). */
  onRouterError?(code: ErrorCode): void;
  /** The instance answered with a 5xx status, relayed to the client (for the error rate). */
  onServerError?(status: number): void;
  /** The instance refused a connection: passive health. */
  onRefused?(address: Address): void;
  /** The instance's final response head arrived (the router times it). */
  onResponseHead?(status: number): void;
}

export interface ForwardDecision {
  readonly kind: 'forward';
  /** Request fields to send: hop-by-hop removed, X-Forwarded-* set (request-guard.ts). */
  readonly headers: readonly string[];
  /** The request-target to send (an absolute-form target rewritten); the client's when absent. */
  readonly target?: string;
  /** The next instance to try, excluding those tried; undefined when none is left. */
  pickAddress(tried: ReadonlySet<Address>): Address | undefined;
  readonly hooks: ExchangeHooks;
  /** Fields added to the response head (a sticky split's Set-Cookie); null: none. */
  readonly responseFields?: readonly string[] | null;
  /**
   * Given the request body's bytes after they were forwarded (a mirrored copy's body): as
   * sent for a Content-Length body, de-chunked for a chunked one (no sizes, no trailers).
   */
  copyBody?(bytes: Buffer): void;
  /** True while `copyBody` wants a chunked body's data; false spares de-chunking it twice. */
  readonly copying?: boolean;
  /** The request body was forwarded in full (after its last `copyBody`). */
  bodyRead?(): void;
}

export interface RefuseDecision {
  readonly kind: 'refuse';
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

export type RequestDecision = ForwardDecision | RefuseDecision;

/** What the router tells the engine: the per-request choice and the response-field filter. */
export interface Http1Handler {
  readonly limits: Http1Limits;
  readonly pool: UpstreamSocketPool;
  /**
   * Chooses what happens to one request, synchronously: the router reads its routing table
   * once here and counts the exchange in flight before returning.
   */
  decide(
    head: RequestHead,
    peer: PeerInfo,
    exchange: RawExchange,
    framing: BodyFraming,
  ): RequestDecision;
  /** `names` are the lower-case field names, one per field, when the caller has them. */
  sanitizeResponseHeaders(rawHeaders: readonly string[], names?: readonly string[]): string[];
  /** Gives the connection, with its unread bytes pushed back, to the node:http server. */
  handoff(socket: net.Socket): void;
  /**
   * Requests the router wants on node:http although this path could take them (an event
   * stream, which a drain must end politely at a message boundary).
   */
  prefersHandoff?(head: RequestHead): boolean;
  /** True while the router shuts down: responses then carry `Connection: close`. */
  closing(): boolean;
  /** A response head for a router-generated error. */
  errorResponse(status: number, code: ErrorCode, message: string, close: boolean): string;
}

/** The drain's handle on one exchange (see color-load.ts's Tracked). */
export interface RawExchange {
  /** 'grace' and 'deadline' both end it: 504 if no response byte was sent, else a clean close. */
  stop(reason: 'grace' | 'deadline'): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const MAX_BUFFERED_BYTES = 256 * 1024;
const CLOSE_FLUSH_MS = 1000;
const EMPTY = Buffer.alloc(0);
const NONE_TRIED: ReadonlySet<Address> = new Set();
const NO_BODY: BodyFraming = { kind: 'none' };

/** Whether a field `name` (lower-case) lists `token`; `names` are the head's lower-case names. */
function hasToken(head: RequestHead | ResponseHead, name: string, token: string): boolean {
  const names = head.names;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== name) continue;
    for (const part of (head.rawHeaders[2 * i + 1] as string).split(',')) {
      if (part.trim().toLowerCase() === token) return true;
    }
  }
  return false;
}

/** Requests the fast path leaves to node:http: they need interim responses or a tunnel. */
function needsHandoff(head: RequestHead): boolean {
  return (
    head.versionMinor === 0 ||
    head.method === 'CONNECT' ||
    head.names.includes('upgrade') ||
    head.names.includes('expect')
  );
}

/** Taken off the app's own idle timeout hint, as undici does: the app must never close first. */
const KEEP_ALIVE_HINT_MARGIN_MS = 1000;

/** The app's `Keep-Alive: timeout=N` (RFC 2068 §19.7.1.1) less the margin, in ms; undefined without one. */
function keepAliveHintMs(response: ResponseHead | null): number | undefined {
  if (response === null) return undefined;
  for (let i = 0; i < response.names.length; i++) {
    if (response.names[i] !== 'keep-alive') continue;
    const match = /(?:^|[\s,;])timeout\s*=\s*(\d{1,6})/i.exec(
      response.rawHeaders[2 * i + 1] as string,
    );
    if (match !== null) return Number(match[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS;
  }
  return undefined;
}

type ConnectionState = 'head' | 'exchange' | 'closed' | 'handed-off';

export class ClientConnection {
  readonly #socket: net.Socket;
  readonly #handler: Http1Handler;
  readonly #peer: PeerInfo;
  #buffer: Buffer = EMPTY;
  #state: ConnectionState = 'head';
  #exchange: Exchange | null = null;
  /** The client-side deadline: head, body or keep-alive, whichever applies now. */
  readonly #deadline: LazyTimer;
  /** The running exchange's upstream deadline (response head, then body silence). */
  readonly #upstreamDeadline: LazyTimer;
  /** True once bytes of the next head are expected under the headers deadline. */
  #headStarted = true;

  constructor(socket: net.Socket, handler: Http1Handler) {
    this.#socket = socket;
    this.#handler = handler;
    this.#peer = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localPort: socket.localPort ?? 0,
    };
    this.#deadline = new LazyTimer(this.#onTimeout);
    this.#upstreamDeadline = new LazyTimer(this.#onUpstreamTimeout);
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('error', this.#onGone);
    socket.on('close', this.#onGone);
    this.#arm(handler.limits.headersTimeoutMs);
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#state === 'head') {
      this.#next();
    } else if (this.#state === 'exchange') {
      this.#exchange?.clientBytes();
      if (this.#buffer.length > MAX_BUFFERED_BYTES) this.#socket.pause();
    }
  };

  readonly #onGone = (): void => {
    if (this.#state === 'closed' || this.#state === 'handed-off') return;
    this.#state = 'closed';
    this.#dispose();
    this.#exchange?.clientGone();
    this.#exchange = null;
  };

  /** Takes `n` bytes off the front of the input buffer. */
  take(n: number): Buffer {
    const bytes = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    if (this.#socket.isPaused() && this.#buffer.length < MAX_BUFFERED_BYTES) this.#socket.resume();
    return bytes;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  peek(): Buffer {
    return this.#buffer;
  }

  write(data: string | Buffer, encoding: BufferEncoding = 'latin1'): boolean {
    return typeof data === 'string' ? this.#socket.write(data, encoding) : this.#socket.write(data);
  }

  /** Called by an exchange when its response is fully written. */
  exchangeDone(keepAlive: boolean): void {
    this.#exchange = null;
    if (this.#state !== 'exchange') return;
    if (!keepAlive || this.#handler.closing()) {
      this.close();
      return;
    }
    this.#state = 'head';
    this.#headStarted = false;
    this.#arm(this.#handler.limits.keepAliveTimeoutMs);
    this.#next();
  }

  /** Ends the connection after what was written has been flushed; never a reset. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#dispose();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_FLUSH_MS).unref();
  }

  /** A router error response, then close. */
  refuse(status: number, code: ErrorCode, message: string): void {
    this.#socket.write(this.#handler.errorResponse(status, code, message, true));
    this.close();
  }

  #arm(ms: number): void {
    this.#deadline.set(ms);
  }

  #disarm(): void {
    this.#deadline.clear();
  }

  #dispose(): void {
    this.#deadline.dispose();
    this.#upstreamDeadline.dispose();
  }

  /** Starts or moves the running exchange's upstream deadline. */
  armUpstream(ms: number): void {
    this.#upstreamDeadline.set(ms);
  }

  disarmUpstream(): void {
    this.#upstreamDeadline.clear();
  }

  readonly #onUpstreamTimeout = (): void => {
    if (this.#state === 'exchange') this.#exchange?.upstreamTimeout();
  };

  readonly #onTimeout = (): void => {
    if (this.#state === 'exchange') {
      this.#exchange?.requestTimedOut();
      return;
    }
    if (this.#state !== 'head') return;
    if (this.#buffer.length === 0) {
      // An idle keep-alive connection: close quietly (RFC 9112 §9.5).
      this.close();
      return;
    }
    this.refuse(408, 'CUTOVER_ERR_HTTP_TIMEOUT', 'The request head did not arrive in time.');
  };

  #next(): void {
    if (this.#state !== 'head' || this.#buffer.length === 0) return;
    if (!this.#headStarted) {
      // The first byte of a new head starts its own deadline.
      this.#headStarted = true;
      this.#arm(this.#handler.limits.headersTimeoutMs);
    }
    const limit = this.#handler.limits.maxHeaderBytes;
    const end = findHeadEnd(this.#buffer);
    if (end === -1) {
      if (this.#buffer.length > limit) {
        this.refuse(431, 'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE', 'The request head is too large.');
      }
      return;
    }
    if (end > limit) {
      this.refuse(431, 'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE', 'The request head is too large.');
      return;
    }
    const parsed = parseRequestHead(this.#buffer.subarray(0, end), {
      maxFields: this.#handler.limits.maxHeaderCount,
    });
    if (!parsed.ok) {
      if (parsed.error === 'too-many-fields') {
        this.refuse(
          431,
          'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE',
          'The request has too many header fields.',
        );
      } else {
        this.refuse(
          400,
          'CUTOVER_ERR_HTTP_BAD_REQUEST',
          `Malformed request head (${parsed.error}).`,
        );
      }
      return;
    }
    const head = parsed.head;
    if (needsHandoff(head) || this.#handler.prefersHandoff?.(head) === true) {
      this.#handoff();
      return;
    }
    const framing = requestFraming(head.rawHeaders, head.versionMinor);
    if (!framing.ok) {
      this.refuse(
        400,
        'CUTOVER_ERR_HTTP_BAD_REQUEST',
        `Ambiguous request framing (${framing.error}).`,
      );
      return;
    }
    this.take(end);
    this.#state = 'exchange';
    this.#headStarted = false;
    this.#arm(this.#handler.limits.requestTimeoutMs);
    const exchange = new Exchange(this, this.#handler, head, framing.framing);
    this.#exchange = exchange;
    const decision = this.#handler.decide(head, this.#peer, exchange, framing.framing);
    if (decision.kind === 'refuse') {
      exchange.refuse(decision);
      return;
    }
    exchange.start(decision);
  }

  /** Called when the request body has been read in full: the body deadline ends. */
  requestRead(): void {
    if (this.#state === 'exchange') this.#disarm();
  }

  #handoff(): void {
    this.#state = 'handed-off';
    this.#dispose();
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('error', this.#onGone);
    socket.off('close', this.#onGone);
    const pending = this.#buffer;
    this.#buffer = EMPTY;
    if (pending.length > 0) socket.unshift(pending);
    this.#handler.handoff(socket);
  }
}

/** One request and its response on the raw path. */
class Exchange implements RawExchange, UpstreamOwner {
  readonly #client: ClientConnection;
  readonly #handler: Http1Handler;
  readonly #head: RequestHead;
  readonly #framing: BodyFraming;
  #decision: ForwardDecision | null = null;
  #ended = false;
  #address: Address = '';
  #upstream: UpstreamConnection | null = null;
  /** Instances tried so far; made only when a second one is picked (most requests try one). */
  #tried: Set<Address> | null = null;
  #retried = false;
  #bodyRemaining = 0;
  readonly #requestChunks: ChunkedDecoder | null = null;
  /** Views of the chunk data of one push, for a mirrored copy; made on the first such push. */
  #copyViews: Buffer[] | null = null;
  #requestDone: boolean;
  #bodySent = 0;
  #responseBuffer: Buffer = EMPTY;
  #responseBytes = 0;
  #response: ResponseHead | null = null;
  #responseFraming: BodyFraming = NO_BODY;
  #responseRemaining = 0;
  #responseChunks: ChunkedDecoder | null = null;
  #responseCarry: Buffer | null = null;
  /** A response head waiting for the first body bytes: its start line, then its fields. */
  #pendingStart = '';
  #pendingFields: string[] | null = null;
  #responseDone = false;
  #upstreamKeepAlive = true;
  #clientKeepAlive: boolean;
  #waitingForClientDrain = false;
  #status = 0;
  #stopped: 'grace' | 'deadline' | null = null;

  constructor(
    client: ClientConnection,
    handler: Http1Handler,
    head: RequestHead,
    framing: BodyFraming,
  ) {
    this.#client = client;
    this.#handler = handler;
    this.#head = head;
    this.#framing = framing;
    this.#clientKeepAlive = !hasToken(head, 'connection', 'close');
    if (framing.kind === 'length') this.#bodyRemaining = framing.length;
    if (framing.kind === 'chunked') this.#requestChunks = new ChunkedDecoder({ wholeLines: true });
    this.#requestDone = framing.kind === 'none';
    if (this.#requestDone) client.requestRead();
  }

  refuse(decision: RefuseDecision): void {
    this.#ended = true;
    this.#client.write(
      this.#handler.errorResponse(decision.status, decision.code, decision.message, true),
    );
    this.#client.close();
  }

  start(decision: ForwardDecision): void {
    this.#decision = decision;
    const address = decision.pickAddress(NONE_TRIED);
    if (address === undefined) {
      this.#fail(
        503,
        'CUTOVER_ERR_UPSTREAM_UNAVAILABLE',
        'No instance of the color is up.',
        'failed',
      );
      return;
    }
    this.#connect(address);
  }

  stop(reason: 'grace' | 'deadline'): void {
    if (this.#ended || this.#stopped !== null) return;
    this.#stopped = reason;
    if (this.#response === null) {
      this.#fail(
        504,
        'CUTOVER_ERR_DRAIN_DEADLINE',
        'The request was still running on a drained color at the drain deadline.',
        'aborted',
      );
      return;
    }
    // Response bytes are out: close after the last complete write, never a reset.
    this.#end('aborted');
  }

  /** The client did not send its body in time (the connection's request deadline). */
  requestTimedOut(): void {
    if (this.#ended || this.#requestDone) return;
    this.#fail(
      408,
      'CUTOVER_ERR_HTTP_TIMEOUT',
      'The request body did not arrive in time.',
      'failed',
    );
  }

  /** The client went away: abandon the upstream connection. */
  clientGone(): void {
    if (this.#ended) return;
    this.#upstreamKeepAlive = false;
    this.#end('client-gone');
  }

  /** New client bytes arrived while this exchange runs. */
  clientBytes(): void {
    if (!this.#ended && this.#upstream !== null) this.#pumpBody();
  }

  #connect(address: Address): void {
    this.#address = address;
    this.#tried?.add(address);
    this.#upstream = this.#handler.pool.acquire(address, this);
    let headers = (this.#decision as ForwardDecision).headers;
    // Framing is the router's own: Transfer-Encoding is hop-by-hop and was stripped.
    if (this.#framing.kind === 'chunked') headers = [...headers, 'Transfer-Encoding', 'chunked'];
    const target = (this.#decision as ForwardDecision).target ?? this.#head.target;
    this.#writeUpstream(encodeHead(`${this.#head.method} ${target} HTTP/1.1`, headers, null));
    this.#pumpBody();
    this.#armUpstream(this.#handler.limits.upstreamHeadersTimeoutMs);
  }

  #writeUpstream(data: string | Buffer): void {
    const upstream = this.#upstream?.socket;
    if (upstream === undefined) return;
    // A head is latin1 text: field values may carry obs-text bytes (RFC 9110 §5.5), which the
    // default utf8 encoding would rewrite.
    const flushed =
      typeof data === 'string' ? upstream.write(data, 'latin1') : upstream.write(data);
    if (!flushed) this.#client.socket.pause();
  }

  upstreamDrain(): void {
    if (this.#client.socket.isPaused()) this.#client.socket.resume();
  }

  #pumpBody(): void {
    if (this.#requestDone || this.#client.buffered === 0) return;
    if (this.#framing.kind === 'length') {
      const n = Math.min(this.#client.buffered, this.#bodyRemaining);
      this.#bodyRemaining -= n;
      this.#bodySent += n;
      const bytes = this.#client.take(n);
      this.#writeUpstream(bytes);
      this.#decision?.copyBody?.(bytes);
      if (this.#bodyRemaining === 0) this.#requestFinished();
      return;
    }
    // A mirrored copy gets the chunk data the decoder validated, after the live bytes left.
    const views = this.#decision?.copying === true ? (this.#copyViews ??= []) : undefined;
    const progress = (this.#requestChunks as ChunkedDecoder).push(this.#client.peek(), views);
    const bytes = this.#client.take(progress.consumed);
    if (bytes.length > 0) {
      this.#bodySent += bytes.length;
      this.#writeUpstream(bytes);
    }
    if (views !== undefined && views.length > 0) {
      for (const view of views) this.#decision?.copyBody?.(view);
      views.length = 0;
    }
    if (progress.error !== undefined) {
      this.#fail(
        400,
        'CUTOVER_ERR_HTTP_BAD_REQUEST',
        `Malformed chunked body (${progress.error}).`,
        'failed',
      );
      return;
    }
    if (progress.done) this.#requestFinished();
  }

  #requestFinished(): void {
    this.#decision?.bodyRead?.();
    this.#requestDone = true;
    this.#client.requestRead();
    if (this.#responseDone) this.#end('completed');
  }

  upstreamData(chunk: Buffer): void {
    if (this.#ended) return;
    this.#responseBytes += chunk.length;
    if (this.#response === null) {
      this.#responseBuffer =
        this.#responseBuffer.length === 0 ? chunk : Buffer.concat([this.#responseBuffer, chunk]);
      this.#readResponseHead();
    } else {
      this.#forwardResponseBody(chunk);
    }
  }

  #readResponseHead(): void {
    for (;;) {
      const end = findHeadEnd(this.#responseBuffer);
      if (end === -1) {
        // Kept past this read: a copy, never a view of the connection's reused read buffer.
        this.#responseBuffer = Buffer.from(this.#responseBuffer);
        if (this.#responseBuffer.length > this.#handler.limits.maxHeaderBytes * 2) {
          this.#fail(
            502,
            'CUTOVER_ERR_UPSTREAM_BAD_RESPONSE',
            'The instance sent an oversized response head.',
            'failed',
          );
        }
        return;
      }
      const parsed = parseResponseHead(this.#responseBuffer.subarray(0, end), {
        maxFields: this.#handler.limits.maxHeaderCount * 2,
      });
      if (!parsed.ok) {
        this.#fail(
          502,
          'CUTOVER_ERR_UPSTREAM_BAD_RESPONSE',
          `The instance sent a malformed response (${parsed.error}).`,
          'failed',
        );
        return;
      }
      const head = parsed.head;
      const rest = this.#responseBuffer.subarray(end);
      this.#responseBuffer = EMPTY;
      if (head.status === 101) {
        // Upgrades never take the fast path, so a 101 here is a broken instance.
        this.#fail(
          502,
          'CUTOVER_ERR_UPSTREAM_BAD_RESPONSE',
          'The instance switched protocols unasked.',
          'failed',
        );
        return;
      }
      if (head.status < 200) {
        // Interim responses (103 Early Hints) are relayed without hop-by-hop fields (RFC 9110 §15.2).
        const fields = this.#handler.sanitizeResponseHeaders(head.rawHeaders);
        this.#client.write(serializeResponseHead(head.status, head.reason, fields));
        this.#responseBuffer = rest;
        continue;
      }
      // Bytes after a bodiless response mean the instance is out of step (checked on finish).
      this.#responseBuffer = rest;
      this.#startResponse(head);
      this.#responseBuffer = EMPTY;
      if (!this.#ended && rest.length > 0) this.#forwardResponseBody(rest);
      this.#flushHead();
      return;
    }
  }

  #startResponse(head: ResponseHead): void {
    const framing = responseFraming(
      head.rawHeaders,
      head.versionMinor,
      head.status,
      this.#head.method,
    );
    if (!framing.ok) {
      this.#fail(
        502,
        'CUTOVER_ERR_UPSTREAM_BAD_RESPONSE',
        `The instance sent ambiguous framing (${framing.error}).`,
        'failed',
      );
      return;
    }
    this.#response = head;
    this.#status = head.status;
    this.#decision?.hooks.onResponseHead?.(head.status);
    if (head.status >= 500) this.#decision?.hooks.onServerError?.(head.status);
    this.#responseFraming = framing.framing;
    this.#upstreamKeepAlive =
      head.versionMinor === 1 &&
      !hasToken(head, 'connection', 'close') &&
      framing.framing.kind !== 'close';
    const fields = this.#handler.sanitizeResponseHeaders(head.rawHeaders, head.names);
    const extra = this.#decision?.responseFields;
    if (extra != null) for (const field of extra) fields.push(field);
    if (framing.framing.kind === 'chunked') {
      fields.push('Transfer-Encoding', 'chunked');
      this.#responseChunks = new ChunkedDecoder({ wholeLines: true });
    } else if (framing.framing.kind === 'length') {
      this.#responseRemaining = framing.framing.length;
    }
    // A close-delimited body can only end by closing the client connection too.
    if (framing.framing.kind === 'close' || this.#handler.closing() || !this.#clientKeepAlive) {
      this.#clientKeepAlive = false;
      fields.push('Connection', 'close');
    }
    this.#armUpstream(this.#handler.limits.upstreamBodyTimeoutMs);
    // The head waits for the first body bytes, so most responses leave in one write (one syscall).
    this.#pendingStart = `HTTP/1.1 ${head.status} ${head.reason}`;
    this.#pendingFields = fields;
    if (framing.framing.kind === 'none') this.#responseFinished();
  }

  #forwardResponseBody(chunk: Buffer): void {
    const framing = this.#responseFraming;
    let bytes = chunk;
    let finished = false;
    if (framing.kind === 'length') {
      if (chunk.length > this.#responseRemaining) {
        // Bytes past Content-Length: the connection is out of step and is not reused.
        bytes = chunk.subarray(0, this.#responseRemaining);
        this.#upstreamKeepAlive = false;
      }
      this.#responseRemaining -= bytes.length;
      finished = this.#responseRemaining === 0;
    } else if (framing.kind === 'chunked') {
      // Whole lines only: a size line split across reads waits in `#responseCarry`, so a line
      // that turns out malformed never reaches the client, not even in part.
      const input =
        this.#responseCarry === null ? chunk : Buffer.concat([this.#responseCarry, chunk]);
      this.#responseCarry = null;
      const progress = (this.#responseChunks as ChunkedDecoder).push(input);
      bytes = input.subarray(0, progress.consumed);
      if (progress.error === undefined && !progress.done && progress.consumed < input.length) {
        // A copy: `chunk` is a view of the upstream read buffer, which the next read overwrites.
        this.#responseCarry = Buffer.from(input.subarray(progress.consumed));
      }
      if (progress.error !== undefined) {
        // Forward what was valid, then close: the client sees an incomplete message.
        this.#flushHead();
        if (bytes.length > 0) this.#client.write(Buffer.from(bytes));
        this.#upstreamKeepAlive = false;
        this.#end('failed');
        return;
      }
      if (progress.done && progress.consumed < input.length) this.#upstreamKeepAlive = false;
      finished = progress.done;
    } else if (framing.kind === 'none') {
      this.#upstreamKeepAlive = false;
      return;
    } else {
      this.#armUpstream(this.#handler.limits.upstreamBodyTimeoutMs);
    }
    let out: Buffer;
    const fields = this.#pendingFields;
    if (fields !== null) {
      this.#pendingFields = null;
      // One buffer for head and first body bytes: one write, one syscall, one allocation.
      out = encodeHead(this.#pendingStart, fields, bytes);
    } else {
      // `bytes` is a view of the upstream read buffer, which the next read overwrites: a write
      // that does not complete at once must own its bytes.
      out = Buffer.from(bytes);
    }
    if (out.length > 0 && !this.#client.write(out) && !this.#waitingForClientDrain) {
      const upstream = this.#upstream?.socket;
      if (upstream !== undefined) {
        this.#waitingForClientDrain = true;
        upstream.pause();
        this.#client.socket.once('drain', () => {
          this.#waitingForClientDrain = false;
          upstream.resume();
        });
      }
    }
    if (finished) this.#responseFinished();
  }

  /** Writes a response head still waiting for body bytes. */
  #flushHead(): void {
    const fields = this.#pendingFields;
    if (fields === null) return;
    this.#pendingFields = null;
    this.#client.write(encodeHead(this.#pendingStart, fields, null));
  }

  #responseFinished(): void {
    this.#flushHead();
    this.#responseDone = true;
    this.#disarmUpstream();
    if (this.#responseBuffer.length > 0) this.#upstreamKeepAlive = false;
    if (!this.#requestDone) {
      // The app answered before reading the whole body (RFC 9112 §9.3): neither connection
      // can carry another request safely.
      this.#upstreamKeepAlive = false;
      this.#clientKeepAlive = false;
    }
    this.#end('completed');
  }

  upstreamEnd(): void {
    if (this.#ended) return;
    if (this.#response !== null && this.#responseFraming.kind === 'close') {
      this.#upstreamKeepAlive = false;
      this.#clientKeepAlive = false;
      this.#responseDone = true;
      this.#end('completed');
      return;
    }
    this.#upstreamLost(undefined);
  }

  upstreamError(error: NodeJS.ErrnoException): void {
    if (!this.#ended) this.#upstreamLost(error);
  }

  /** The instance did not connect, answer or send body bytes in time. */
  upstreamTimeout(): void {
    if (this.#ended) return;
    if (this.#response === null) {
      this.#fail(
        504,
        'CUTOVER_ERR_UPSTREAM_TIMEOUT',
        'The instance did not answer in time.',
        'failed',
      );
    } else {
      this.#upstreamKeepAlive = false;
      this.#end('failed');
    }
  }

  #upstreamLost(error: NodeJS.ErrnoException | undefined): void {
    const lost = this.#detachUpstream();
    lost?.socket.destroy();
    if (this.#response !== null) {
      // Part of the response is out: the client sees an incomplete message, then a close.
      this.#end('failed');
      return;
    }
    const decision = this.#decision as ForwardDecision;
    const code = error?.code;
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'EADDRNOTAVAIL') {
      decision.hooks.onRefused?.(this.#address);
      // Nothing reached that instance; another may take the request while no body byte is spent.
      this.#tried ??= new Set([this.#address]);
      const next = this.#bodySent === 0 ? decision.pickAddress(this.#tried) : undefined;
      if (next !== undefined) {
        this.#connect(next);
        return;
      }
      this.#fail(
        502,
        'CUTOVER_ERR_UPSTREAM_CONNECT',
        'The instance refused the connection.',
        'failed',
      );
      return;
    }
    // A reused keep-alive connection the app closed as the request went out: resend once, only
    // an idempotent request without content and before any response byte (RFC 9112 §9.3.1).
    if (
      lost?.reused === true &&
      !this.#retried &&
      this.#responseBytes === 0 &&
      this.#framing.kind === 'none' &&
      IDEMPOTENT.has(this.#head.method)
    ) {
      this.#retried = true;
      this.#connect(this.#address);
      return;
    }
    this.#fail(
      502,
      'CUTOVER_ERR_UPSTREAM_CONNECT',
      'The instance closed the connection before answering.',
      'failed',
    );
  }

  #fail(status: number, code: ErrorCode, message: string, outcome: ExchangeOutcome): void {
    if (this.#ended) return;
    if (this.#response === null) {
      // A 400 or 408 is the client's doing: only the router's own 5xx count as its failures.
      if (status >= 500) this.#decision?.hooks.onRouterError?.(code);
      this.#status = status;
      this.#client.write(this.#handler.errorResponse(status, code, message, true));
    }
    this.#upstreamKeepAlive = false;
    this.#end(outcome);
  }

  #end(outcome: ExchangeOutcome): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#flushHead();
    this.#disarmUpstream();
    const upstream = this.#detachUpstream();
    if (upstream !== null) {
      if (this.#upstreamKeepAlive && outcome === 'completed' && this.#requestDone) {
        this.#handler.pool.release(upstream, keepAliveHintMs(this.#response));
      } else {
        upstream.socket.destroy();
      }
    }
    const decision = this.#decision;
    this.#decision = null;
    decision?.hooks.onEnd(this.#stopped === null ? outcome : 'aborted', this.#status);
    if (outcome === 'client-gone') return;
    this.#client.exchangeDone(outcome === 'completed' && this.#clientKeepAlive);
  }

  /** Takes the upstream connection from this exchange; its events no longer reach it. */
  #detachUpstream(): UpstreamConnection | null {
    const upstream = this.#upstream;
    if (upstream === null) return null;
    this.#upstream = null;
    // The pool's listeners stay on the socket (an 'error' after destroy is always handled).
    upstream.owner = null;
    if (upstream.socket.isPaused()) upstream.socket.resume();
    return upstream;
  }

  #armUpstream(ms: number): void {
    this.#client.armUpstream(ms);
  }

  #disarmUpstream(): void {
    this.#client.disarmUpstream();
  }
}
