// The shape of one admin route: handlers get a parsed request and return a reply; the server
// does transport checks, body parsing, errors and audit around them.
import type { AdminContext, EventSink } from './admin-context.ts';

export interface AdminRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body of a mutation (`{}` when empty); undefined for GET. */
  readonly body: unknown;
  readonly ifMatch: number | undefined;
  readonly actor: string;
  /** The SSE `Last-Event-ID` header, for event streams. */
  readonly lastEventId: string | undefined;
  /**
   * Names the app a mutation acts on when its path does not (`/v1/deployments/:id/abort`), so
   * its audit line is filed under that app even if the mutation then fails.
   */
  readonly auditApp: (app: string) => void;
}

export interface AdminReply {
  readonly status?: number;
  /** JSON-encoded unless `contentType` is given, in which case it must be a string. */
  readonly body: unknown;
  readonly contentType?: string;
  readonly etag?: number;
  /** Makes the reply a server-sent event stream that lasts until the sink's signal aborts. */
  readonly events?: (sink: EventSink) => Promise<void>;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  /** Segments with `:name` parameters, e.g. `/v1/apps/:app/deploy`. */
  readonly pattern: string;
  readonly handler: (req: AdminRequest, ctx: AdminContext) => Promise<AdminReply>;
}

export interface RouteMatch {
  readonly route: AdminRoute;
  readonly params: Record<string, string>;
}

/** Finds the route for a method and path; undefined means 404. */
export function matchRoute(
  routes: readonly AdminRoute[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.pattern.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const want = pattern[i] ?? '';
      const got = segments[i] ?? '';
      if (want.startsWith(':')) {
        let value: string;
        try {
          value = decodeURIComponent(got);
        } catch {
          value = '';
        }
        if (value === '') ok = false;
        else params[want.slice(1)] = value;
      } else if (want !== got) {
        ok = false;
      }
    }
    if (ok) return { route, params };
  }
  return undefined;
}
