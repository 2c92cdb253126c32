// The admin API listeners: JSON over HTTP on the Unix socket (mode 0600) and, optionally,
// loopback TCP with a bearer token; the request pipeline is in admin-handler.ts. Never reachable
// through the public or preview listeners: these are separate servers.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from '../host-port.ts';
import type { AdminContext } from './admin-context.ts';
import type { AdminTransport } from './admin-guard.ts';
import { createAdminHandler } from './admin-handler.ts';
import type { AdminRoute } from './admin-route.ts';
import { createEventStreams } from './event-streams.ts';
import { deploymentRoutes } from './routes/deployment-routes.ts';
import { driftRoutes } from './routes/drift-routes.ts';
import { eventRoutes } from './routes/event-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { historyRoutes } from './routes/history-routes.ts';
import { metricsRoutes } from './routes/metrics-routes.ts';
import { migrationRoutes } from './routes/migration-routes.ts';
import { promoteRoutes } from './routes/promote-routes.ts';
import { mutationRoutes } from './routes/mutation-routes.ts';
import { statusRoutes } from './routes/status-routes.ts';

export const ADMIN_SOCKET_MODE = 0o600;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Bounds memory if a local process opens connections in a loop; far above any real use. */
const MAX_ADMIN_CONNECTIONS = 256;

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  ...healthRoutes,
  ...statusRoutes,
  ...mutationRoutes,
  ...deploymentRoutes,
  ...migrationRoutes,
  ...promoteRoutes,
  ...driftRoutes,
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

export async function createAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { context, logger } = options;
  let closing = false;
  const streams = createEventStreams();
  const handle = createAdminHandler({
    routes: ADMIN_ROUTES,
    context,
    logger,
    streams,
    closing: () => closing,
  });

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
  unixServer.maxConnections = MAX_ADMIN_CONNECTIONS;
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
    tcpServer.maxConnections = MAX_ADMIN_CONNECTIONS;
    servers.push(tcpServer);
  }

  return {
    socketPath: options.socketPath,
    tcpAddress,
    async close(deadlineMs) {
      closing = true;
      streams.endAll();
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
