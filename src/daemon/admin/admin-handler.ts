// The admin request pipeline: transport checks, route match, JSON body, the route's handler,
// one error shape, metrics and the audit log of every mutation (QUALITY.md D2-D5).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { CutoverError, isCutoverError, toErrorBody } from '../../core/errors.ts';
import type { AdminContext } from './admin-context.ts';
import {
  checkJsonContentType,
  checkTransport,
  parseIfMatch,
  type AdminTransport,
} from './admin-guard.ts';
import { sendReply, singleHeader } from './admin-reply.ts';
import { matchRoute, type AdminRoute } from './admin-route.ts';
import type { EventStreams } from './event-streams.ts';
import { ADMIN_BODY_LIMIT_BYTES, readJsonBody } from './read-json-body.ts';

const ACTOR_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

export interface AdminHandlerOptions {
  readonly routes: readonly AdminRoute[];
  readonly context: AdminContext;
  readonly logger: Logger;
  readonly streams: EventStreams;
  /** True once the daemon is stopping: replies then carry `Connection: close`. */
  readonly closing: () => boolean;
}

export type AdminHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  transport: AdminTransport,
) => Promise<void>;

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The actor named in the audit log: the transport, plus an optional self-declared name. */
function actorOf(req: IncomingMessage, transport: AdminTransport, localUser: string): string {
  const header = req.headers['x-cutover-actor'];
  const name = typeof header === 'string' && ACTOR_PATTERN.test(header) ? header : undefined;
  return transport.kind === 'unix' ? `unix:${name ?? localUser}` : `tcp:${name ?? 'token'}`;
}

/** The request target as a URL; one that does not parse matches no route (404). */
function parseTarget(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://admin.invalid');
  } catch {
    return new URL('/invalid-request-target', 'http://admin.invalid');
  }
}

export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const { context, logger, streams, routes } = options;
  const localUser = userInfo().username;

  return async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    transport: AdminTransport,
  ): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = parseTarget(req.url);
    const mutation = MUTATING_METHODS.has(method);
    let routeLabel = 'unmatched';
    let app: string | undefined;
    let actor = 'unknown';
    let status: number;
    let outcome = 'ok';
    try {
      checkTransport(req.headers, transport);
      actor = actorOf(req, transport, localUser);
      const match = matchRoute(routes, method, url.pathname);
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
          auditApp: (name) => {
            app ??= name;
          },
        },
        context,
      );
      status = reply.status ?? 200;
      if (reply.events === undefined) sendReply(res, status, reply, options.closing());
      else await streams.serve(res, reply.events);
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
      sendReply(res, status, { body: toErrorBody(cutoverError) }, options.closing() || unread);
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
    // Every routed mutation is audited, whatever its outcome (D5); one refused before its app
    // was known (an unknown deployment id) is filed under no app, its path names what it asked.
    if (mutation && routeLabel !== 'unmatched') {
      const route = `${method} ${url.pathname}`;
      await context
        .audit({ app: app ?? '', actor, route, status, outcome, durationMs })
        .catch((error: unknown) => logger.error({ err: error }, 'could not write the audit log'));
    }
  };
}
