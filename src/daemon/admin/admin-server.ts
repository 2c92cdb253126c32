// The admin API server: JSON over HTTP on the Unix socket (mode 0600) and, optionally, loopback
// TCP with a bearer token. Transport checks, body limits, errors and the audit log live here;
// the routes stay thin. Never reachable through the public or preview listeners: these are
// separate servers.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { CutoverError, isCutoverError, toErrorBody } from '../../core/errors.ts';
import type { HostPort } from '../host-port.ts';
import type { AdminContext, EventSink } from './admin-context.ts';
import {
  checkJsonContentType,
  checkTransport,
  parseIfMatch,
  type AdminTransport,
} from './admin-guard.ts';
import { matchRoute, type AdminReply, type AdminRoute } from './admin-route.ts';
import { ADMIN_BODY_LIMIT_BYTES, readJsonBody } from './read-json-body.ts';
import { eventRoutes } from './routes/event-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { historyRoutes } from './routes/history-routes.ts';
import { metricsRoutes } from './routes/metrics-routes.ts';
import { mutationRoutes } from './routes/mutation-routes.ts';
import { statusRoutes } from './routes/status-routes.ts';

export const ADMIN_SOCKET_MODE = 0o600;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const ACTOR_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
/** A comment line this often keeps idle event streams open through proxies and timeouts. */
const EVENT_HEARTBEAT_MS = 15_000;

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...healthRoutes,
  ...statusRoutes,
  ...mutationRoutes,
  ...historyRoutes,
  ...eventRoutes,
  ...metricsRoutes,
];

export interface AdminServerOptions {
  readonly socketPath: string;
  readonly tcp: { readonly address: HostPort; readonly token: string } | null;
  readonly context: AdminContext;
  readonly logger: Logger;
}

export interface AdminServer {
  readonly socketPath: string;
  /** The bound TCP address, when the TCP listener is on. */
  readonly tcpAddress: HostPort | null;
  /** Stops accepting; in-flight responses get `Connection: close`; resolves when all ended. */
  close(deadlineMs: number): Promise<void>;
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The actor named in the audit log: the transport, plus an optional self-declared name. */
function actorOf(req: IncomingMessage, transport: AdminTransport, localUser: string): string {
  const header = req.headers['x-cutover-actor'];
  const name = typeof header === 'string' && ACTOR_PATTERN.test(header) ? header : undefined;
  return transport.kind === 'unix' ? `unix:${name ?? localUser}` : `tcp:${name ?? 'token'}`;
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, status: number, reply: AdminReply, closing: boolean): void {
  const isText = reply.contentType !== undefined;
  const text = isText ? String(reply.body) : `${JSON.stringify(reply.body)}\n`;
  res.statusCode = status;
  res.setHeader('content-type', reply.contentType ?? 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  if (reply.etag !== undefined) res.setHeader('etag', `"${reply.etag}"`);
  if (closing) res.setHeader('connection', 'close');
  res.end(text);
}

export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { context, logger } = options;
  const localUser = userInfo().username;
  let closing = false;
  const streams = new Set<AbortController>();

  /** Server-sent events (WHATWG HTML §9.2): `id`, `event` and one `data` line per event. */
  async function streamEvents(
    res: ServerResponse,
    follow: (sink: EventSink) => Promise<void>,
  ): Promise<void> {
    const stop = new AbortController();
    if (closing) stop.abort();
    streams.add(stop);
    res.on('close', () => stop.abort());
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A stream ends only when its connection should: never reuse it for another request.
      connection: 'close',
      'x-content-type-options': 'nosniff',
    });
    res.write(': cutover history events\n\n');
    const heartbeat = setInterval(() => res.write(':\n\n'), EVENT_HEARTBEAT_MS);
    try {
      await follow({
        signal: stop.signal,
        send(event) {
          res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        },
      });
    } finally {
      clearInterval(heartbeat);
      streams.delete(stop);
      res.end();
    }
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    transport: AdminTransport,
  ): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const mutation = MUTATING_METHODS.has(method);
    let routeLabel = 'unmatched';
    let app: string | undefined;
    let actor = 'unknown';
    let status: number;
    let outcome = 'ok';
    try {
      checkTransport(req.headers, transport);
      actor = actorOf(req, transport, localUser);
      const match = matchRoute(ADMIN_ROUTES, method, url.pathname);
      if (match === undefined) {
        throw new CutoverError(
          'CUTOVER_ERR_ADMIN_NOT_FOUND',
          `No admin API route for ${method} ${url.pathname}.`,
        );
      }
      routeLabel = `${match.route.method} ${match.route.pattern}`;
      app = match.params.app;
      let body: unknown;
      let ifMatch: number | undefined;
      if (mutation) {
        checkJsonContentType(req.headers);
        ifMatch = parseIfMatch(req.headers);
        body = await readJsonBody(req, ADMIN_BODY_LIMIT_BYTES);
      } else {
        // GET never reads (or acts on) a body.
        req.resume();
      }
      const reply = await match.route.handler(
        {
          params: match.params,
          query: url.searchParams,
          body,
          ifMatch,
          actor,
          lastEventId: singleHeader(req, 'last-event-id'),
        },
        context,
      );
      status = reply.status ?? 200;
      if (reply.events === undefined) send(res, status, reply, closing);
      else await streamEvents(res, reply.events);
    } catch (error) {
      const cutoverError = isCutoverError(error)
        ? error
        : new CutoverError(
            'CUTOVER_ERR_INTERNAL',
            'An unexpected error happened in the daemon; its log has the details.',
          );
      if (!isCutoverError(error))
        logger.error({ err: error, route: routeLabel }, 'admin route failed');
      status = cutoverError.status;
      outcome = cutoverError.code;
      // A body we did not read would be parsed as the next request: close the connection.
      const unread = !req.readableEnded;
      send(res, status, { body: toErrorBody(cutoverError) }, closing || unread);
      if (unread) req.resume();
    }
    const durationMs = performance.now() - started;
    context.metrics.adminRequest(routeLabel, status);
    if (status === 401 || status === 403) {
      logger.warn(
        { route: `${method} ${url.pathname}`, status, transport: transport.kind },
        'admin request refused',
      );
    }
    if (mutation && app !== undefined) {
      await context
        .audit({ app, actor, route: `${method} ${url.pathname}`, status, outcome, durationMs })
        .catch((error: unknown) => logger.error({ err: error }, 'could not write the audit log'));
    }
  }

  function listener(transport: AdminTransport) {
    return (req: IncomingMessage, res: ServerResponse): void => {
      void handle(req, res, transport).catch((error: unknown) => {
        logger.error({ err: error }, 'admin request handling failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
  }

  const serverOptions = {
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const servers: Server[] = [];

  // Unix socket: a file left by a dead daemon is removed (we hold the data dir's pid lock).
  await unlink(options.socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  const unixServer = createServer(
    { ...serverOptions, requireHostHeader: false },
    listener({ kind: 'unix' }),
  );
  // The socket is created by bind() inside listen(): a umask of 0177 makes it 0600 from its
  // first instant; the chmod below makes that explicit whatever the platform does.
  const previousUmask = process.umask(0o177);
  try {
    await listen(unixServer, { path: options.socketPath });
  } finally {
    process.umask(previousUmask);
  }
  await chmod(options.socketPath, ADMIN_SOCKET_MODE);
  servers.push(unixServer);

  let tcpAddress: HostPort | null = null;
  if (options.tcp !== null) {
    const tcpServer = createServer(serverOptions, (req, res) => {
      tcpHandler(req, res);
    });
    let tcpHandler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
      res.writeHead(503).end();
    };
    try {
      await listen(tcpServer, { host: options.tcp.address.host, port: options.tcp.address.port });
    } catch (error) {
      unixServer.close();
      throw error;
    }
    const bound = tcpServer.address() as AddressInfo;
    tcpAddress = { host: options.tcp.address.host, port: bound.port };
    tcpHandler = listener({ kind: 'tcp', address: tcpAddress, token: options.tcp.token });
    servers.push(tcpServer);
  }

  return {
    socketPath: options.socketPath,
    tcpAddress,
    async close(deadlineMs) {
      closing = true;
      for (const stream of streams) stream.abort();
      const closed = servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      );
      const timer = setTimeout(() => {
        for (const server of servers) server.closeAllConnections();
      }, deadlineMs);
      await Promise.all(closed);
      clearTimeout(timer);
    },
  };
}

function listen(
  server: Server,
  target: { path: string } | { host: string; port: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
