// One proxied HTTP request: forwards it to an instance of the chosen color over a keep-alive
// pool, streams the response back with backpressure, retries only when that is safe, and ends
// it politely when a drain says so.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../core/errors.ts';
import type { RouteTarget } from '../core/routing-table.ts';
import type { Address } from '../core/types.ts';
import type { ColorLoad, ListenerName, Tracked, TrackedOutcome } from './color-load.ts';
import { sendRouterError } from './error-response.ts';
import type { MirrorBody } from './mirror-sender.ts';
import { sanitizeResponseHeaders } from './request-guard.ts';
import type { UpstreamPools } from './upstream-pools.ts';

/** How long a connection cut at a drain deadline may take to flush before it is destroyed. */
const CLOSE_FLUSH_MS = 1000;

/** Idempotent methods (RFC 9110 §9.2.2) a proxy may resend when they carry no content. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

/** Errors that mean the request never left the router: no byte reached the instance. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Errors of a connection that died before any byte of the response arrived. */
const CONNECTION_LOST_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_CLOSED',
]);

/**
 * The dispatch handler with undici's request-side callbacks (undici 7 lib/core/request.js):
 * `onBodySent` gets each body chunk right after it was written to the instance's socket (the
 * typings call it a size; the value is the chunk), `onRequestSent` follows the last one.
 */
interface ExchangeHandler extends Dispatcher.DispatchHandler {
  onBodySent(chunk: unknown): void;
  onRequestSent(): void;
}

interface UpstreamError extends Error {
  code?: string;
  socket?: { bytesRead?: number };
}

export interface ExchangeContext {
  readonly pools: UpstreamPools;
  readonly load: ColorLoad;
  readonly target: RouteTarget;
  readonly listener: ListenerName;
  /** True once the router is closing: responses then carry `Connection: close`. */
  readonly closing: () => boolean;
  /** Fields added to the response head (a sticky split's Set-Cookie); null: none. */
  readonly responseFields?: readonly string[] | null;
}

export class HttpExchange implements Tracked {
  readonly kind = 'request';
  readonly listener: ListenerName;
  longLived = false;
  private readonly context: ExchangeContext;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly path: string;
  private readonly headers: string[];
  private readonly hasBody: boolean;
  private readonly tried = new Set<Address>();
  private retriedLostConnection = false;
  private abortUpstream: ((reason: Error) => void) | null = null;
  private responseStarted = false;
  private stoppedBy: 'grace' | 'deadline' | null = null;
  private ended = false;
  /** A mirrored copy's body, collected from what undici sends upstream; null: none. */
  private copy: MirrorBody | null = null;
  /** When the request arrived: its response head's latency counts from here. */
  private readonly started = performance.now();

  constructor(
    context: ExchangeContext,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: string[],
  ) {
    this.context = context;
    this.listener = context.listener;
    this.req = req;
    this.res = res;
    this.path = path;
    // undici frames the request itself and refuses Expect (node already answered 100-continue).
    this.headers = withoutExpect(headers);
    // RFC 9112 §6.3: a request has content only when it says so with Content-Length or
    // Transfer-Encoding (the guard already refused ambiguous framing).
    const length = req.headers['content-length'];
    this.hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    res.on('close', () => this.finish());
  }

  /** Chooses an instance and sends the request; the caller has already counted it in flight. */
  start(): void {
    const address = this.context.pools.pick(this.context.target);
    if (address === undefined) {
      this.fail('CUTOVER_ERR_UPSTREAM_UNAVAILABLE', 'The color has no instances to route to.');
      return;
    }
    this.send(address);
  }

  /**
   * Collects the request body for a mirrored copy: a tap on the chunks undici writes to the
   * instance, never a reader of its own, so it cannot pause or reorder the live stream. Called
   * in the tick of `start`: undici writes a streamed body from a later tick, so no byte is
   * missed.
   */
  mirrorBody(copy: MirrorBody): void {
    if (this.ended) {
      copy.cancel();
      return;
    }
    this.copy = copy;
  }

  stop(reason: 'grace' | 'deadline'): void {
    if (this.ended || this.stoppedBy !== null) return;
    this.stoppedBy = reason;
    this.abortUpstream?.(new Error('drained'));
    if (!this.res.headersSent) {
      this.context.load.failed++;
      sendRouterError(
        this.res,
        'CUTOVER_ERR_DRAIN_DEADLINE',
        'The request was still running on a drained color at the drain deadline.',
      );
      return;
    }
    if (this.longLived) {
      // An event stream ends at a message boundary with the last chunk: the client reconnects,
      // and the new connection lands on the live color.
      this.res.end();
      return;
    }
    // Headers are out: close after the last complete chunk, never a reset, so the client sees
    // an incomplete message rather than a silently truncated one.
    this.res.shouldKeepAlive = false;
    const socket = this.res.socket;
    if (socket === null) {
      this.res.destroy();
      return;
    }
    socket.end();
    setTimeout(() => this.res.destroy(), CLOSE_FLUSH_MS).unref();
  }

  private send(address: Address): void {
    this.tried.add(address);
    const body = this.hasBody ? this.req : null;
    this.context.pools
      .pool(address)
      .dispatch(
        { path: this.path, method: this.req.method ?? 'GET', headers: this.headers, body },
        this.handlerFor(address),
      );
  }

  // The raw-header handler interface of undici: it keeps duplicate fields and their order
  // (Set-Cookie) and avoids a header-object copy per response.
  private handlerFor(address: Address): ExchangeHandler {
    let resume: (() => void) | null = null;
    const onDrain = (): void => resume?.();
    return {
      onConnect: (abort) => {
        this.abortUpstream = abort;
        if (this.ended || this.stoppedBy !== null) abort(new Error('ended'));
      },
      onHeaders: (statusCode, rawHeaders, resumeUpstream, statusText) => {
        // 1xx: node answers 100-continue itself; other interim responses are not relayed.
        if (statusCode < 200) return true;
        this.responseStarted = true;
        resume = resumeUpstream;
        return this.writeHead(statusCode, statusText, rawHeaders);
      },
      onData: (chunk) => {
        if (this.res.write(chunk)) return true;
        this.res.once('drain', onDrain);
        return false;
      },
      onComplete: () => {
        this.res.end();
      },
      onError: (error: UpstreamError) => {
        this.upstreamFailed(address, error);
      },
      onBodySent: (chunk) => {
        if (this.copy !== null && Buffer.isBuffer(chunk)) this.copy.add(chunk);
      },
      onRequestSent: () => {
        this.copy?.end();
        this.copy = null;
      },
    };
  }

  private writeHead(statusCode: number, statusText: string, rawHeaders: Buffer[]): boolean {
    if (this.ended || this.stoppedBy !== null) return false;
    const flat: string[] = [];
    for (const part of rawHeaders) flat.push(part.toString('latin1'));
    this.context.load.observeLatency(performance.now() - this.started);
    const headers = sanitizeResponseHeaders(flat);
    const extra = this.context.responseFields;
    if (extra != null) headers.push(...extra);
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (
        headers[i]?.toLowerCase() === 'content-type' &&
        headers[i + 1]?.toLowerCase().startsWith('text/event-stream') === true
      ) {
        this.longLived = true;
      }
    }
    if (this.context.closing()) this.res.shouldKeepAlive = false;
    try {
      this.res.writeHead(statusCode, statusText, headers);
    } catch {
      this.abortUpstream?.(new Error('bad response head'));
      this.responseStarted = false;
      this.fail('CUTOVER_ERR_UPSTREAM_BAD_RESPONSE', 'The instance sent an invalid response head.');
      return false;
    }
    if (statusCode >= 500) this.context.load.serverErrors++;
    return true;
  }

  private upstreamFailed(address: Address, error: UpstreamError): void {
    if (this.ended || this.stoppedBy !== null) return;
    if (this.responseStarted) {
      // The response is partly sent: nothing can be retried or rewritten; the client sees an
      // incomplete message.
      this.res.destroy();
      return;
    }
    const code = error.code ?? '';
    if (NOT_SENT_CODES.has(code)) {
      this.context.pools.markRefused(address);
      // Never sent, so safe to send elsewhere, provided the body was not touched.
      if (!this.hasBody || !this.req.readableDidRead) {
        const next = this.context.pools.pick(this.context.target, this.tried);
        if (next !== undefined) {
          this.send(next);
          return;
        }
      }
      if (code === 'UND_ERR_CONNECT_TIMEOUT') {
        this.fail(
          'CUTOVER_ERR_UPSTREAM_TIMEOUT',
          'The instance did not accept a connection in time.',
        );
      } else {
        this.fail('CUTOVER_ERR_UPSTREAM_CONNECT', 'The instance refused the connection.');
      }
      return;
    }
    if (CONNECTION_LOST_CODES.has(code)) {
      // A keep-alive connection closed by the app just as the request went out (the idle
      // timeout race). Resend once, only an idempotent request without content (RFC 9110
      // §9.2.2), and only on a reused connection: a fresh one that dies says the app crashed
      // on this very request. undici names the socket's bytes read when it knows them; zero
      // means fresh, unknown is treated as reused.
      const bytesRead = error.socket?.bytesRead;
      const reused = bytesRead === undefined || bytesRead > 0;
      if (
        reused &&
        !this.retriedLostConnection &&
        !this.hasBody &&
        IDEMPOTENT_METHODS.has(this.req.method ?? '')
      ) {
        this.retriedLostConnection = true;
        this.send(this.context.pools.pick(this.context.target) ?? address);
        return;
      }
      this.fail(
        'CUTOVER_ERR_UPSTREAM_CONNECT',
        'The instance closed the connection before answering.',
      );
      return;
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.fail('CUTOVER_ERR_UPSTREAM_TIMEOUT', 'The instance did not answer in time.');
      return;
    }
    if (code.startsWith('HPE_') || error.message === 'bad response') {
      this.fail('CUTOVER_ERR_UPSTREAM_BAD_RESPONSE', 'The instance sent a malformed response.');
      return;
    }
    if (this.req.destroyed || this.res.destroyed) return;
    this.fail('CUTOVER_ERR_UPSTREAM_CONNECT', 'The request to the instance failed.');
  }

  private fail(code: ErrorCode, message: string): void {
    if (this.res.headersSent || this.res.destroyed) {
      this.res.destroy();
      return;
    }
    this.context.load.failed++;
    // A request whose content was not read to its end leaves the connection unusable.
    const close = this.context.closing() || (this.hasBody && !this.req.complete);
    sendRouterError(this.res, code, message, { close });
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    // The body never reached the instance in full: the copy is not sent.
    this.copy?.cancel();
    this.copy = null;
    if (!this.res.writableFinished) this.abortUpstream?.(new Error('client went away'));
    const outcome: TrackedOutcome =
      this.stoppedBy === 'deadline'
        ? 'aborted'
        : this.stoppedBy === 'grace'
          ? 'closed'
          : 'completed';
    this.context.load.end(this, outcome);
  }
}

function withoutExpect(headers: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.toLowerCase() !== 'expect') kept.push(name, headers[i + 1] as string);
  }
  return kept;
}
