// One proxied WebSocket (RFC 6455). The router terminates the WebSocket on both sides and relays
// messages, so it can always end it with a frame-aligned close frame (1001 at a drain) instead
// of cutting a byte stream mid-frame. The client's handshake is completed only after the
// instance answered a real 101; any other answer is relayed as a plain HTTP response.
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { RawData, WebSocketServer } from 'ws';
import type { ErrorCode } from '../core/errors.ts';
import type { RouteTarget } from '../core/routing-table.ts';
import type { Address } from '../core/types.ts';
import type { ColorLoad, ListenerName, Tracked } from './color-load.ts';
import { writeRawRouterError } from './error-response.ts';
import { sanitizeResponseHeaders } from './request-guard.ts';
import type { UpstreamPools } from './upstream-pools.ts';

/** Close code "going away" (RFC 6455 §7.4.1): the color is being drained. */
export const CLOSE_GOING_AWAY = 1001;
/** How long the close handshake may take before the connection is closed without it. */
export const WEBSOCKET_CLOSE_TIMEOUT_MS = 1000;
/** Relayed bytes buffered towards a slow peer before the other side is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** The largest message relayed; bigger ones close the WebSocket with 1009. */
export const WEBSOCKET_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Handshake fields the WebSocket client sets itself for the router's own upstream handshake. */
const HANDSHAKE_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
]);

/** What the router's WebSocketServer needs to finish a client handshake like the instance did. */
export interface HandshakeAnswer {
  readonly protocol: string;
  readonly headerLines: readonly string[];
}

export interface WebSocketContext {
  readonly pools: UpstreamPools;
  readonly load: ColorLoad;
  readonly target: RouteTarget;
  readonly listener: ListenerName;
  readonly server: WebSocketServer;
  /** Filled before `handleUpgrade`, read by the server's handleProtocols and 'headers' hooks. */
  readonly answers: WeakMap<IncomingMessage, HandshakeAnswer>;
  readonly handshakeTimeoutMs: number;
  /** Fields added to the handshake's answer (a sticky split's Set-Cookie); null: none. */
  readonly responseFields?: readonly string[] | null;
}

function isSendableCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** Mirrors a close from one side to the other with a code the protocol allows to send. */
function closeLike(ws: WebSocket, code: number, reason: Buffer): void {
  if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.terminate();
    return;
  }
  if (code === 1005) ws.close();
  else if (isSendableCode(code)) ws.close(code, reason);
  else ws.close(1011, 'peer closed abnormally');
}

function relay(from: WebSocket, to: WebSocket): void {
  let paused = false;
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (paused && to.bufferedAmount < LOW_WATER_BYTES) {
        paused = false;
        from.resume();
      }
    });
    if (!paused && to.bufferedAmount > HIGH_WATER_BYTES) {
      paused = true;
      from.pause();
    }
  });
}

/** A flat raw header list as the object the ws client takes, minus the handshake's own fields. */
function upstreamHeaders(headers: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (HANDSHAKE_FIELDS.has(name)) continue;
    const value = headers[i + 1] as string;
    const previous = out[name];
    out[name] =
      previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

function requestedProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** RFC 6455 §4.2.1: what the client's handshake must carry for the router to complete it. */
function isValidClientHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  return (
    req.headers['sec-websocket-version'] === '13' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key)
  );
}

export class WebSocketRelay implements Tracked {
  readonly kind = 'websocket';
  readonly listener: ListenerName;
  readonly longLived = true;
  private readonly context: WebSocketContext;
  private readonly req: IncomingMessage;
  private readonly socket: Duplex;
  private readonly head: Buffer;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly tried = new Set<Address>();
  /** The handshake in flight, counted as a request until the instance answers 101. */
  private readonly pending: Tracked;
  private upstream: WebSocket | null = null;
  private client: WebSocket | null = null;
  private stoppedBy: 'grace' | 'deadline' | null = null;
  /** The instance answered the handshake without 101; its answer is being relayed. */
  private refused = false;
  private done = false;
  /** When the handshake arrived: the instance's answer's latency counts from here. */
  private readonly started = performance.now();

  constructor(
    context: WebSocketContext,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    path: string,
    headers: readonly string[],
  ) {
    this.context = context;
    this.listener = context.listener;
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.path = path;
    this.headers = upstreamHeaders(headers);
    this.pending = {
      kind: 'request',
      listener: context.listener,
      longLived: false,
      stop: (reason) => this.stopHandshake(reason),
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.client === null) this.endHandshake('completed');
    });
  }

  /** Counts the handshake in flight and opens the upstream WebSocket. */
  start(): void {
    this.context.load.begin(this.pending);
    if (!isValidClientHandshake(this.req)) {
      this.failHandshake(
        'CUTOVER_ERR_HTTP_BAD_REQUEST',
        'The WebSocket handshake needs Sec-WebSocket-Version: 13 and a valid Sec-WebSocket-Key (RFC 6455 §4.2.1).',
        false,
      );
      return;
    }
    const address = this.context.pools.pick(this.context.target);
    if (address === undefined) {
      this.failHandshake('CUTOVER_ERR_UPSTREAM_UNAVAILABLE', 'The color has no instances.', true);
      return;
    }
    this.connect(address);
  }

  stop(reason: 'grace' | 'deadline'): void {
    if (this.done || this.stoppedBy !== null) return;
    this.stoppedBy = reason;
    this.client?.close(CLOSE_GOING_AWAY, 'color drained');
    this.upstream?.close(CLOSE_GOING_AWAY, 'color drained');
    setTimeout(() => {
      this.client?.terminate();
      this.upstream?.terminate();
    }, WEBSOCKET_CLOSE_TIMEOUT_MS).unref();
  }

  private connect(address: Address): void {
    this.tried.add(address);
    const upstream = new WebSocket(`ws://${address}${this.path}`, requestedProtocols(this.req), {
      headers: this.headers,
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: this.context.handshakeTimeoutMs,
      maxPayload: WEBSOCKET_MAX_PAYLOAD_BYTES,
    });
    this.upstream = upstream;
    let answer: string[] = [];
    upstream.on('upgrade', (response: IncomingMessage) => {
      this.context.load.observeLatency(performance.now() - this.started);
      // The router answers the client's handshake itself; only the app's other fields (a
      // Set-Cookie, say) are carried over.
      const fields = sanitizeResponseHeaders(response.rawHeaders);
      const extra = this.context.responseFields;
      if (extra != null) fields.push(...extra);
      answer = [];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = fields[i] as string;
        if (!/^(sec-websocket-|connection$|upgrade$)/i.test(name))
          answer.push(name, fields[i + 1] as string);
      }
    });
    upstream.on('open', () => this.opened(upstream, answer));
    upstream.on('unexpected-response', (_request, response: IncomingMessage) => {
      this.refused = true;
      response.on('close', () => upstream.terminate());
      this.relayRefusal(response);
    });
    upstream.on('error', (error: Error & { code?: string }) => {
      if (this.client !== null || this.done || this.refused) return;
      if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH') {
        this.context.pools.markRefused(address);
        const next = this.context.pools.pick(this.context.target, this.tried);
        if (next !== undefined && this.stoppedBy === null) {
          this.connect(next);
          return;
        }
        this.failHandshake(
          'CUTOVER_ERR_UPSTREAM_CONNECT',
          'The instance refused the connection.',
          true,
        );
        return;
      }
      if (error.message.includes('timed out')) {
        this.failHandshake(
          'CUTOVER_ERR_UPSTREAM_TIMEOUT',
          'The instance did not answer the WebSocket handshake in time.',
          true,
        );
        return;
      }
      this.failHandshake(
        'CUTOVER_ERR_UPSTREAM_BAD_RESPONSE',
        'The WebSocket handshake with the instance failed.',
        true,
      );
    });
  }

  private opened(upstream: WebSocket, answer: string[]): void {
    if (this.done || this.stoppedBy !== null || this.socket.destroyed) {
      upstream.terminate();
      return;
    }
    const headerLines: string[] = [];
    for (let i = 0; i + 1 < answer.length; i += 2)
      headerLines.push(`${answer[i]}: ${answer[i + 1]}`);
    this.context.answers.set(this.req, { protocol: upstream.protocol, headerLines });
    this.context.server.handleUpgrade(this.req, this.socket, this.head, (client) => {
      this.client = client;
      this.context.load.upgraded(this.pending, this);
      this.wire(client, upstream);
    });
    if (this.client === null) {
      // The server refused the client's handshake and already answered it.
      upstream.terminate();
      this.endHandshake('completed');
    }
  }

  private wire(client: WebSocket, upstream: WebSocket): void {
    relay(client, upstream);
    relay(upstream, client);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', (code: number, reason: Buffer) => {
      closeLike(upstream, code === 1006 ? CLOSE_GOING_AWAY : code, reason);
      this.finish();
    });
    upstream.on('close', (code: number, reason: Buffer) => {
      if (this.stoppedBy === null) closeLike(client, code, reason);
    });
  }

  /** The instance answered the handshake with something other than 101: relay it and close. */
  private relayRefusal(response: IncomingMessage): void {
    if (this.done || this.socket.destroyed) {
      response.resume();
      return;
    }
    const status = response.statusCode ?? 502;
    this.context.load.observeLatency(performance.now() - this.started);
    if (status >= 500) this.context.load.serverErrors++;
    const headers = sanitizeResponseHeaders(response.rawHeaders);
    const extra = this.context.responseFields;
    if (extra != null) headers.push(...extra);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    head += 'connection: close\r\n\r\n';
    this.socket.write(head);
    response.pipe(this.socket);
    response.on('error', () => this.socket.destroy());
    response.on('end', () => this.endHandshake('completed'));
  }

  private stopHandshake(reason: 'grace' | 'deadline'): void {
    if (reason !== 'deadline' || this.client !== null || this.done) return;
    this.stoppedBy = reason;
    this.upstream?.terminate();
    this.context.load.failed++;
    writeRawRouterError(
      this.socket,
      'CUTOVER_ERR_DRAIN_DEADLINE',
      'The WebSocket handshake was still running on a drained color at the drain deadline.',
    );
    this.endHandshake('aborted');
  }

  private failHandshake(code: ErrorCode, message: string, countFailed: boolean): void {
    if (this.done) return;
    if (countFailed) this.context.load.failed++;
    writeRawRouterError(this.socket, code, message);
    this.endHandshake('completed');
  }

  private endHandshake(outcome: 'completed' | 'aborted'): void {
    if (this.done || this.client !== null) return;
    this.done = true;
    this.context.load.end(this.pending, outcome);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.context.load.end(this, this.stoppedBy === null ? 'completed' : 'closed');
  }
}
