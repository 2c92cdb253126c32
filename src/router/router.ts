// The router of one thread: holds the routing table, chooses the color of every request, counts
// it, and hands it to an HTTP exchange or a WebSocket relay. Listeners call `handleRequest` and
// `handleUpgrade`; the traffic switch calls `apply`, `drain`, `describe` and `close`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { AppRoute, RouteTarget, RoutingTable } from '../core/routing-table.ts';
import { EMPTY_ROUTING_TABLE, findAppRoute } from '../core/routing-table.ts';
import type { Address, Color } from '../core/types.ts';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';
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
import type { BodyFraming } from './http1/message-framing.ts';
import { HttpExchange } from './http-exchange.ts';
import { stripHopByHop } from './hop-by-hop.ts';
import { MirrorBody, MirrorSender } from './mirror-sender.ts';
import { seededRandom } from './seeded-random.ts';
import { guardRequest } from './request-guard.ts';
import type { GuardOptions, GuardResult } from './request-guard.ts';
import { DEFAULT_UPSTREAM_POOL_OPTIONS, UpstreamPools } from './upstream-pools.ts';
import type { UpstreamPoolOptions } from './upstream-pools.ts';
import { bucketCookie, chooseSplit } from './split-choice.ts';
import type { SplitFields } from './split-choice.ts';
import type { HandshakeAnswer } from './websocket-relay.ts';
import { WEBSOCKET_MAX_PAYLOAD_BYTES, WebSocketRelay } from './websocket-relay.ts';

export interface RouterOptions {
  /** Peers whose X-Forwarded-* and Forwarded fields are kept (appended to). */
  readonly trustedProxies?: readonly string[];
  readonly upstream?: Partial<UpstreamPoolOptions>;
  /** Seeds the split's random draws (tests that check shares); default Math.random. */
  readonly splitSeed?: number;
}

export type AppTraffic = Readonly<Record<string, Readonly<Record<Color, ColorTraffic>>>>;

type Refusal = Extract<GuardResult, { ok: false }>;
type Routed = { route: AppRoute; target: NonNullable<AppRoute['live']> };
/** A split's choice for one public request: its target, and the bucket cookie to set, if any. */
type SplitTarget = { target: RouteTarget; responseFields: string[] | null };

/** The body a mirrored copy needs: none (0), one of this many bytes, or a chunked one. */
type CopyBody = number | 'chunked';

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
  readonly responseFields: string[] | null;
  readonly #tracked: RawTracked;
  readonly #load: ColorLoad;
  readonly #upstreams: NonNullable<AppRoute['live']>;
  readonly #pools: UpstreamPools;
  /** When the request head was read: its response head's latency counts from here. */
  readonly #started = performance.now();
  /** The body of a mirrored copy being collected; null when the request is not mirrored. */
  #copy: MirrorBody | null = null;

  constructor(
    tracked: RawTracked,
    load: ColorLoad,
    upstreams: NonNullable<AppRoute['live']>,
    pools: UpstreamPools,
    guard: { headers: string[]; path: string },
    responseFields: string[] | null,
  ) {
    this.#tracked = tracked;
    this.#load = load;
    this.#upstreams = upstreams;
    this.#pools = pools;
    this.headers = guard.headers;
    this.target = guard.path;
    this.responseFields = responseFields;
  }

  /** Collects the body for a mirrored copy, sent once the body is complete. */
  mirrorBody(copy: MirrorBody): void {
    this.#copy = copy;
  }

  get copying(): boolean {
    return this.#copy !== null;
  }

  copyBody(bytes: Buffer): void {
    const copy = this.#copy;
    if (copy === null) return;
    copy.add(bytes);
    if (copy.settled) this.#copy = null;
  }

  bodyRead(): void {
    this.#copy?.end();
    this.#copy = null;
  }

  onResponseHead(): void {
    this.#load.observeLatency(performance.now() - this.#started);
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
    // The body never arrived in full: the copy is not sent.
    this.#copy?.cancel();
    this.#copy = null;
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
  private readonly mirrors: MirrorSender;
  private readonly random: () => number;
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
    this.random = options.splitSeed === undefined ? Math.random : seededRandom(options.splitSeed);
    this.mirrors = new MirrorSender({
      connectTimeoutMs: upstream.connectTimeoutMs,
      idleTimeoutMs: upstream.idleTimeoutMs,
    });
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
    const mirrored = new Set<string>();
    for (const route of table.apps) {
      if (route.mirror != null) mirrored.add(route.app);
      for (const address of route.live?.upstreams ?? []) routed.add(address);
      for (const address of route.idle?.upstreams ?? []) routed.add(address);
    }
    this.mirrors.retain(mirrored);
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
      latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
      latencySumMs: 0,
      mirrored: 0,
      mirrorDropped: 0,
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
        latency: [...load.latency],
        latencySumMs: load.latencySumMs,
        mirrored: load.mirrored,
        mirrorDropped: load.mirrorDropped,
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
    await Promise.all([this.pools.destroy(), this.mirrors.close()]);
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
      decide: (head, peer, exchange, framing) =>
        this.decide(listener, head, peer, exchange, framing),
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
    framing: BodyFraming,
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
    const split = this.splitTarget(listener, routed.route, head);
    const target = split === null ? routed.target : split.target;
    let loads = this.routeLoads.get(routed.route);
    if (loads === undefined) {
      loads = {};
      this.routeLoads.set(routed.route, loads);
    }
    const color = target.color;
    const load = (loads[color] ??= this.loadOf(routed.route.app, color));
    const tracked = new RawTracked(listener, exchange);
    load.begin(tracked);
    const request = new RawRequest(
      tracked,
      load,
      target,
      this.pools,
      guard,
      split === null ? null : split.responseFields,
    );
    if (listener === 'public' && routed.route.mirror != null) {
      const body: CopyBody =
        framing.kind === 'none' ? 0 : framing.kind === 'length' ? framing.length : 'chunked';
      const copy = { method: head.method, path: guard.path, headers: guard.headers, body: null };
      this.mirror(routed.route, color, copy, body, (waiting) => request.mirrorBody(waiting));
    }
    return request;
  }

  /**
   * The split's choice for one public request of `route`, or null when it has no split (or
   * on the preview listener, which always serves the idle color). Called in the tick that
   * counts the request, from the request's validated fields.
   */
  private splitTarget(
    listener: ListenerName,
    route: AppRoute,
    fields: SplitFields,
  ): SplitTarget | null {
    const split = route.split;
    if (listener !== 'public' || split == null || route.live === null) return null;
    const choice = chooseSplit(split, route.app, fields, this.random);
    return {
      target: choice.toSplit ? split.target : route.live,
      responseFields:
        choice.newBucket === null
          ? null
          : ['Set-Cookie', bucketCookie(route.app, choice.newBucket)],
    };
  }

  /**
   * Sends a copy of one public request to the app's mirror target when the request went to
   * another color and the bounds allow it. A body is collected as the live exchange forwards
   * it (`wait` hands the collector to the fast path's exchange or to HttpExchange): a
   * Content-Length body above `maxBodyBytes` is dropped at once, a chunked one when it
   * passes the bound. The copy leaves after the live request was handed on (its body after
   * the last live byte): it never delays it.
   */
  private mirror(
    route: AppRoute,
    color: Color,
    copy: { method: string; path: string; headers: readonly string[]; body: Buffer | null },
    body: CopyBody,
    wait: (waiting: MirrorBody) => void,
  ): void {
    const mirror = route.mirror;
    if (mirror == null || mirror.target.color === color) return;
    const load = this.loadOf(route.app, mirror.target.color);
    if (body !== 'chunked' && body > mirror.maxBodyBytes) {
      load.mirrorDropped++;
      return;
    }
    if (!this.mirrors.admit(route.app, mirror, load)) return;
    const table = this.table;
    const send = (bytes: Buffer | null): void => {
      // A table applied while the body arrived may have ended the mirror (a flip makes its
      // color live): the copy then goes nowhere, never to a color that serves live traffic.
      const current = this.table === table ? mirror : this.mirrorOf(route.app);
      const address =
        current?.target.color === mirror.target.color ? this.pools.pick(current.target) : undefined;
      if (address === undefined) {
        this.mirrors.cancel(load);
        return;
      }
      this.mirrors.send(address, { ...copy, body: bytes }, load);
    };
    if (body === 0) {
      queueMicrotask(() => send(null));
      return;
    }
    wait(
      new MirrorBody(
        mirror.maxBodyBytes,
        body === 'chunked' ? null : body,
        (bytes) => queueMicrotask(() => send(bytes)),
        () => this.mirrors.cancel(load),
      ),
    );
  }

  /** The mirror of `app` in the current table; null or undefined when it has none. */
  private mirrorOf(app: string): AppRoute['mirror'] {
    return this.table.apps.find((route) => route.app === app)?.mirror;
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
    const split = this.splitTarget(listener, routed.route, req);
    const target = split === null ? routed.target : split.target;
    const load = this.loadOf(routed.route.app, target.color);
    const exchange = new HttpExchange(
      {
        pools: this.pools,
        load,
        target,
        listener,
        closing: this.isClosing,
        responseFields: split === null ? null : split.responseFields,
      },
      req,
      res,
      guard.path,
      guard.headers,
    );
    load.begin(exchange);
    // The copy's collector is handed over before the exchange starts, so no body chunk undici
    // reports as sent can come before it (an exchange that ends cancels its copy).
    if (listener === 'public' && routed.route.mirror != null) {
      // The guard validated the framing (RFC 9112 §6.3): chunked, one Content-Length, or none.
      const length = req.headers['content-length'];
      const body: CopyBody =
        req.headers['transfer-encoding'] !== undefined
          ? 'chunked'
          : length === undefined
            ? 0
            : Number(length);
      const copy = {
        method: req.method ?? 'GET',
        path: guard.path,
        headers: guard.headers,
        body: null,
      };
      this.mirror(routed.route, target.color, copy, body, (waiting) =>
        exchange.mirrorBody(waiting),
      );
    }
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
    const split = this.splitTarget(listener, routed.route, req);
    const target = split === null ? routed.target : split.target;
    const load = this.loadOf(routed.route.app, target.color);
    const relay = new WebSocketRelay(
      {
        pools: this.pools,
        load,
        target,
        responseFields: split === null ? null : split.responseFields,
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
