// GET /v1/health: the daemon is up and where its listeners are.
import type { AdminRoute } from '../admin-route.ts';

export const healthRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/v1/health',
    handler: (_req, ctx) => Promise.resolve({ body: ctx.health() }),
  },
];
