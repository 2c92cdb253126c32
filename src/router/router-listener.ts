// One data-plane listener (public or preview): a strictly configured node:http server that
// hands every request and WebSocket handshake to a Router.
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenerName } from './color-load.ts';
import { ClientConnection } from './http1/client-connection.ts';
import { writeRawRouterError } from './error-response.ts';
import { ROUTER_HTTP_LIMITS } from './request-guard.ts';
import type { Router } from './router.ts';

export interface ListenerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

export interface ListenerOptions {
  readonly host: string;
  /** 0 binds an ephemeral port. */
  readonly port: number;
  /** SO_REUSEPORT, so several worker threads can each accept on the same port (Linux). */
  readonly reusePort?: boolean;
  readonly limits?: Partial<ListenerLimits>;
  /**
   * Accept on a raw socket and forward plain requests on the fast path (http1/), handing the
   * rest (HTTP/1.0, Upgrade, Expect) to the node:http server. False: node:http for everything.
   */
  readonly fastPath?: boolean;
}

export interface BoundListener {
  /** The node:http server: every request when there is no fast path, else the handed-off ones. */
  readonly server: Server;
  /** The socket that accepts: `server` itself, or the fast path's raw listener. */
  readonly acceptor: Server | NetServer;
  readonly address: { host: string; port: number };
  /** Stops accepting. */
  stopAccepting(): Promise<void>;
  /** Closes connections that carry no request right now. */
  closeIdle(): void;
  /** Closes every connection. */
  closeAll(): void;
}

/** Only a WebSocket handshake leaves the HTTP parser; every other Upgrade stays a request. */
function isWebSocketHandshake(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && typeof upgrade === 'string' && /\bwebsocket\b/i.test(upgrade);
}

export async function listenRouter(
  router: Router,
  name: ListenerName,
  options: ListenerOptions,
): Promise<BoundListener> {
  const limits: ListenerLimits = { ...ROUTER_HTTP_LIMITS, ...options.limits };
  const server = createServer({
    // Strict HTTP/1.1 (DESIGN.md data plane notes): never the lenient parser.
    insecureHTTPParser: false,
    requireHostHeader: true,
    joinDuplicateHeaders: false,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, limits.headersTimeoutMs / 4)),
    noDelay: true,
    shouldUpgradeCallback: isWebSocketHandshake,
  });
  // One more than the limit: node silently drops headers past it, the guard must see the excess
  // to answer 431 instead of forwarding a truncated head.
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.on('request', (req, res) => router.handleRequest(name, req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    router.handleUpgrade(name, req, socket, head),
  );
  // CONNECT is never tunnelled (the guard refuses it with 400); without this listener node
  // would drop the connection without an answer.
  server.on('connect', (req: IncomingMessage, socket: Duplex) =>
    router.handleUpgrade(name, req, socket, Buffer.alloc(0)),
  );
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      writeRawRouterError(
        socket,
        'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE',
        'The request head is too large.',
      );
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      writeRawRouterError(
        socket,
        'CUTOVER_ERR_HTTP_TIMEOUT',
        'The request head or body arrived too slowly.',
      );
    } else {
      writeRawRouterError(
        socket,
        'CUTOVER_ERR_HTTP_BAD_REQUEST',
        'The request is not valid HTTP/1.1 (RFC 9112).',
      );
    }
  });
  const raw = new Map<Socket, ClientConnection>();
  let acceptor: Server | NetServer = server;
  if (options.fastPath === true) {
    const handler = router.fastPathHandler(name, limits, (socket: Socket) => {
      raw.delete(socket);
      server.emit('connection', socket);
    });
    acceptor = createNetServer({ noDelay: true }, (socket: Socket) => {
      raw.set(socket, new ClientConnection(socket, handler));
      socket.on('close', () => raw.delete(socket));
    });
    // The node:http server never listens itself; this starts its header and request timeouts.
    server.emit('listening');
  }
  const bound = await new Promise<{ port: number }>((resolve, reject) => {
    acceptor.once('error', reject);
    acceptor.listen(
      { host: options.host, port: options.port, reusePort: options.reusePort === true },
      () => {
        acceptor.off('error', reject);
        const address = acceptor.address();
        if (address === null || typeof address === 'string') {
          reject(new Error(`${name} listener did not bind`));
        } else {
          resolve({ port: address.port });
        }
      },
    );
  });
  return {
    server,
    acceptor,
    address: { host: options.host, port: bound.port },
    stopAccepting() {
      return new Promise((resolve) => {
        if (acceptor !== server) server.close(() => undefined);
        acceptor.close(() => resolve());
      });
    },
    closeIdle() {
      server.closeIdleConnections();
    },
    closeAll() {
      server.closeAllConnections();
      for (const connection of raw.values()) connection.close();
    },
  };
}
