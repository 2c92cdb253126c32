// The router of one thread: holds the routing table, chooses the color of every request, counts
// it, and hands it to an HTTP exchange or a WebSocket relay. Listeners call `handleRequest` and
// `handleUpgrade`; the traffic switch calls `apply`, `drain`, `describe` and `close`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { AppRoute, RoutingTable } from '../core/routing-table.ts';
import { EMPTY_ROUTING_TABLE, findAppRoute } from '../core/routing-table.ts';
import type { Address, Color } from '../core/types.ts';
import type { ColorTraffic, DrainOptions, DrainReport } from '../ports/traffic-switch.ts';
import { ColorLoad, loadKey } from './color-load.ts';
import type { ListenerName, Tracked } from './color-load.ts';
import { DrainRun } from './drain-run.ts';
import { rawRouterError, sendRouterError, writeRawRouterError } from './error-response.ts';
import type {
  ExchangeHooks,
  ExchangeOutcome,
  ForwardDecision,
  Http1Handler,
  Http1Limits,
  PeerInfo,
  RawExchange,
  RequestDecision,
} from './http1/client-connection.ts';
import type { RequestHead } from './http1/head-parser.ts';
import { UpstreamSocketPool } from './http1/upstream-socket-pool.ts';
import { HttpExchange } from './http-exchange.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { guardRequest } from './request-guard.ts';
import type { GuardOptions, GuardResult } from './request-guard.ts';
import { DEFAULT_UPSTREAM_POOL_OPTIONS, UpstreamPools } from './upstream-pools.ts';
import type { UpstreamPoolOptions } from './upstream-pools.ts';
import type { HandshakeAnswer } from './websocket-relay.ts';
import { WEBSOCKET_MAX_PAYLOAD_BYTES, WebSocketRelay } from './websocket-relay.ts';

export interface RouterOptions {
  /** Peers whose X-Forwarded-* and Forwarded fields are kept (appended to). */
  readonly trustedProxies?: readonly string[];
  readonly upstream?: Partial<UpstreamPoolOptions>;
}

export type AppTraffic = Readonly<Record<string, Readonly<Record<Color, ColorTraffic>>>>;

type Refusal = Extract<GuardResult, { ok: false }>;
type Routed = { route: AppRoute; target: NonNullable<AppRoute['live']> };

function peerOf(
  socket: Duplex & { remoteAddress?: string; remotePort?: number; localPort?: number },
) {
  return {
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localPort: socket.localPort ?? 0,
  };
}

/**
 * An EventSource request (WHATWG HTML §9.2: it always sends `Accept: text/event-stream`): it
 * takes the node:http path, where a drain ends the stream at its grace on a chunk boundary.
 */
function isEventStreamRequest(head: RequestHead): boolean {
  for (let i = 0; i < head.names.length; i++) {
    if (
      head.names[i] === 'accept' &&
      (head.rawHeaders[2 * i + 1] as string).toLowerCase().includes('text/event-stream')
    ) {
      return true;
    }
  }
  return false;
}

/**
 * One fast-path request as a drain sees it. It lets go of its exchange when the request ends:
 * a Set that churns (ColorLoad.open) leaves obsolete hash tables behind that still point at
 * former members, and the young-generation GC keeps whatever those reach alive until the next
 * full GC. Holding the exchange past its end made every scavenge copy and promote megabytes
 * of finished requests (6-10 ms pauses at 30k requests/s; 0.3 ms without).
 */
class RawTracked implements Tracked {
  readonly kind = 'request';
  readonly longLived = false;
  readonly listener: ListenerName;
  #exchange: RawExchange | null;

  constructor(listener: ListenerName, exchange: RawExchange) {
    this.listener = listener;
    this.#exchange = exchange;
  }

  stop(reason: 'grace' | 'deadline'): void {
    this.#exchange?.stop(reason);
  }

  /** The request ended: nothing of it stays reachable from here. */
  ended(): void {
    this.#exchange = null;
  }
}

/**
 * One fast-path request's forward decision and its end hooks in one object: two allocations
 * per request with RawTracked, where closures and literals took nine.
 */
class RawRequest implements ForwardDecision, ExchangeHooks {
  readonly kind = 'forward';
  readonly headers: readonly string[];
  readonly target: string;
  readonly #tracked: RawTracked;
  readonly #load: ColorLoad;
  readonly #upstreams: NonNullable<AppRoute['live']>;
  readonly #pools: UpstreamPools;

  constructor(
    tracked: RawTracked,
    load: ColorLoad,
    upstreams: NonNullable<AppRoute['live']>,
    pools: UpstreamPools,
    guard: { headers: string[]; path: string },
  ) {
    this.#tracked = tracked;
    this.#load = load;
    this.#upstreams = upstreams;
    this.#pools = pools;
    this.headers = guard.headers;
    this.target = guard.path;
  }

  get hooks(): ExchangeHooks {
    return this;
  }

  pickAddress(tried: ReadonlySet<Address>): Address | undefined {
    return this.#pools.pick(this.#upstreams, tried);
  }

  onEnd(outcome: ExchangeOutcome): void {
    this.#load.end(this.#tracked, outcome === 'aborted' ? 'aborted' : 'completed');
    this.#tracked.ended();
  }

  onRouterError(): void {
    this.#load.failed++;
  }

  onServerError(): void {
    this.#load.serverErrors++;
  }

  onRefused(address: Address): void {
    this.#pools.markRefused(address);
  }
}

export class Router {
  private table: RoutingTable = EMPTY_ROUTING_TABLE;
  private readonly pools: UpstreamPools;
  /** Idle upstream connections of the raw fast path. */
  private readonly sockets: UpstreamSocketPool;
  private readonly upstreamOptions: UpstreamPoolOptions;
  /** Every instance address of the current table, live or idle. */
  private routed: ReadonlySet<Address> = new Set();
  private readonly loads = new Map<string, ColorLoad>();
  /** The loads of each app route of the table: the fast path's lookup, without a string key. */
  private readonly routeLoads = new WeakMap<AppRoute, Partial<Record<Color, ColorLoad>>>();
  private readonly drains = new Set<DrainRun>();
  private readonly guards: Readonly<Record<ListenerName, GuardOptions>>;
  private readonly handshakeTimeoutMs: number;
  private readonly answers = new WeakMap<IncomingMessage, HandshakeAnswer>();
  private readonly websockets: WebSocketServer;
  private closing = false;
  private readonly isClosing = (): boolean => this.closing;

  constructor(options: RouterOptions = {}) {
    const upstream = { ...DEFAULT_UPSTREAM_POOL_OPTIONS, ...options.upstream };
    this.pools = new UpstreamPools(upstream);
    this.upstreamOptions = upstream;
    this.sockets = new UpstreamSocketPool({
      idleTimeoutMs: upstream.idleTimeoutMs,
      connectTimeoutMs: upstream.connectTimeoutMs,
      maxIdlePerAddress: 256,
    });
    this.handshakeTimeoutMs = upstream.connectTimeoutMs + upstream.headersTimeoutMs;
    const trustedProxies = options.trustedProxies ?? [];
    this.guards = {
      public: { trustedProxies, listener: 'public' },
      preview: { trustedProxies, listener: 'preview' },
    };
    this.websockets = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: WEBSOCKET_MAX_PAYLOAD_BYTES,
      clientTracking: false,
      handleProtocols: (_protocols, request) => this.answers.get(request)?.protocol || false,
    });
    this.websockets.on('headers', (lines: string[], request: IncomingMessage) => {
      const answer = this.answers.get(request);
      if (answer !== undefined) lines.push(...answer.headerLines);
    });
  }

  get generation(): number {
    return this.table.generation;
  }

  /**
   * Swaps the routing table (one assignment: the atomic flip). An older generation is ignored.
   * Returns whether the table was taken.
   */
  apply(table: RoutingTable): boolean {
    if (table.generation < this.table.generation) return false;
    this.table = table;
    for (const drain of this.drains) {
      const route = table.apps.find((app) => app.app === drain.app);
      if (route?.live?.color === drain.color) drain.cancel();
    }
    const routed = new Set<Address>();
    for (const route of table.apps) {
      for (const address of route.live?.upstreams ?? []) routed.add(address);
      for (const address of route.idle?.upstreams ?? []) routed.add(address);
    }
    void this.pools.retain(routed);
    for (const address of this.routed) if (!routed.has(address)) this.sockets.forget(address);
    this.routed = routed;
    return true;
  }

  drain(app: string, color: Color, options: DrainOptions): Promise<DrainReport> {
    const run = new DrainRun(this.loadOf(app, color), options);
    const live = this.table.apps.find((route) => route.app === app)?.live?.color;
    this.drains.add(run);
    void run.report.then(() => this.drains.delete(run));
    if (live === color) run.cancel();
    else run.start();
    return run.report;
  }

  setUpstreamHealth(health: ReadonlyMap<Address, boolean>): void {
    this.pools.setHealth(health);
  }

  /** Counters per app and color, for every app in the table and any still carrying traffic. */
  traffic(): AppTraffic {
    const apps: Record<string, Record<Color, ColorTraffic>> = {};
    const empty = (): ColorTraffic => ({
      inflight: 0,
      websockets: 0,
      requests: 0,
      failed: 0,
      serverErrors: 0,
    });
    for (const route of this.table.apps) apps[route.app] = { blue: empty(), green: empty() };
    for (const load of this.loads.values()) {
      apps[load.app] ??= { blue: empty(), green: empty() };
      (apps[load.app] as Record<Color, ColorTraffic>)[load.color] = {
        inflight: load.inflight,
        websockets: load.websockets,
        requests: load.requests,
        failed: load.failed,
        serverErrors: load.serverErrors,
      };
    }
    return apps;
  }

  /** Open requests and WebSockets of every app and color. */
  openCount(): number {
    let open = 0;
    for (const load of this.loads.values()) open += load.open.size;
    return open;
  }

  /** From now on every response carries `Connection: close`. */
  beginClose(): void {
    this.closing = true;
  }

  /** Ends what is still open (504 or close) and every upstream pool. */
  async destroy(): Promise<void> {
    this.closing = true;
    for (const drain of this.drains) drain.cancel();
    for (const load of this.loads.values()) {
      for (const tracked of [...load.open]) tracked.stop('deadline');
    }
    this.websockets.close();
    this.sockets.close();
    await this.pools.destroy();
  }

  /**
   * The raw fast path's handler for one listener (http1/client-connection.ts): the same guard,
   * table read and in-flight count as `handleRequest`, for requests that path takes on.
   */
  fastPathHandler(
    listener: ListenerName,
    limits: Omit<Http1Limits, 'upstreamHeadersTimeoutMs' | 'upstreamBodyTimeoutMs'>,
    handoff: Http1Handler['handoff'],
  ): Http1Handler {
    return {
      limits: {
        ...limits,
        upstreamHeadersTimeoutMs: this.upstreamOptions.headersTimeoutMs,
        upstreamBodyTimeoutMs: this.upstreamOptions.bodyTimeoutMs,
      },
      pool: this.sockets,
      decide: (head, peer, exchange) => this.decide(listener, head, peer, exchange),
      // The engine never forwards a 101, so this is sanitizeResponseHeaders without upgrade.
      sanitizeResponseHeaders: (rawHeaders, names) => stripHopByHop(rawHeaders, names),
      handoff,
      prefersHandoff: isEventStreamRequest,
      closing: this.isClosing,
      errorResponse: rawRouterError,
    };
  }

  private decide(
    listener: ListenerName,
    head: RequestHead,
    peer: PeerInfo,
    exchange: RawExchange,
  ): RequestDecision {
    const guard = guardRequest(
      {
        method: head.method,
        url: head.target,
        httpVersion: head.versionMinor === 1 ? '1.1' : '1.0',
        rawHeaders: head.rawHeaders,
        names: head.names,
      },
      peer,
      this.guards[listener],
    );
    if (!guard.ok) {
      return { kind: 'refuse', status: guard.status, code: guard.code, message: guard.reason };
    }
    // As in handleRequest: one table read and the in-flight count in the same tick.
    const routed = this.route(listener, guard.host);
    if ('ok' in routed) {
      return { kind: 'refuse', status: routed.status, code: routed.code, message: routed.reason };
    }
    let loads = this.routeLoads.get(routed.route);
    if (loads === undefined) {
      loads = {};
      this.routeLoads.set(routed.route, loads);
    }
    const color = routed.target.color;
    const load = (loads[color] ??= this.loadOf(routed.route.app, color));
    const tracked = new RawTracked(listener, exchange);
    load.begin(tracked);
    return new RawRequest(tracked, load, routed.target, this.pools, guard);
  }

  /** The request guard over a request node:http parsed (the slow path's entry). */
  private guardParsed(listener: ListenerName, req: IncomingMessage): GuardResult {
    return guardRequest(
      {
        method: req.method ?? '',
        url: req.url ?? '',
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
      },
      peerOf(req.socket),
      this.guards[listener],
    );
  }

  handleRequest(listener: ListenerName, req: IncomingMessage, res: ServerResponse): void {
    const guard = this.guardParsed(listener, req);
    if (!guard.ok) {
      sendRouterError(res, guard.code, guard.reason, { close: true, status: guard.status });
      return;
    }
    // From here to `begin` nothing awaits: the table is read once and the request is counted
    // against its color in the same tick (the atomic flip, DESIGN.md data plane notes).
    const routed = this.route(listener, guard.host);
    if ('ok' in routed) {
      sendRouterError(res, routed.code, routed.reason, { close: this.closing });
      return;
    }
    const load = this.loadOf(routed.route.app, routed.target.color);
    const exchange = new HttpExchange(
      { pools: this.pools, load, target: routed.target, listener, closing: this.isClosing },
      req,
      res,
      guard.path,
      guard.headers,
    );
    load.begin(exchange);
    exchange.start();
  }

  handleUpgrade(listener: ListenerName, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const guard = this.guardParsed(listener, req);
    if (!guard.ok) {
      writeRawRouterError(socket, guard.code, guard.reason, guard.status);
      return;
    }
    if (guard.upgrade !== 'websocket') {
      writeRawRouterError(
        socket,
        'CUTOVER_ERR_HTTP_BAD_REQUEST',
        'Only WebSocket upgrades are proxied (RFC 6455); h2c and other protocols are refused.',
      );
      return;
    }
    const routed = this.route(listener, guard.host);
    if ('ok' in routed) {
      writeRawRouterError(socket, routed.code, routed.reason, routed.status);
      return;
    }
    const load = this.loadOf(routed.route.app, routed.target.color);
    const relay = new WebSocketRelay(
      {
        pools: this.pools,
        load,
        target: routed.target,
        listener,
        server: this.websockets,
        answers: this.answers,
        handshakeTimeoutMs: this.handshakeTimeoutMs,
      },
      req,
      socket,
      head,
      guard.path,
      guard.headers,
    );
    relay.start();
  }

  private route(listener: ListenerName, host: string): Routed | Refusal {
    const route = findAppRoute(this.table, host);
    if (route === undefined) {
      return {
        ok: false,
        status: 421,
        code: 'CUTOVER_ERR_ROUTE_UNKNOWN_HOST',
        reason: 'No app is routed for this Host and there is no catch-all app.',
      };
    }
    const target = listener === 'public' ? route.live : route.idle;
    if (target === null) {
      return {
        ok: false,
        status: 503,
        code: 'CUTOVER_ERR_ROUTE_NO_LIVE',
        reason:
          listener === 'public'
            ? `The app "${route.app}" has no live color yet; deploy a release first.`
            : `The app "${route.app}" has no release in its idle color.`,
      };
    }
    return { route, target };
  }

  private loadOf(app: string, color: Color): ColorLoad {
    const key = loadKey(app, color);
    let load = this.loads.get(key);
    if (load === undefined) {
      load = new ColorLoad(app, color);
      this.loads.set(key, load);
    }
    return load;
  }
}
