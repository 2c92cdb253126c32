// GET /v1/history?app=&limit=: deployments, flips, drains and the audit of mutations.
import type { AdminRoute } from '../admin-route.ts';
import { parseLimit } from '../request-schemas.ts';

export const historyRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/v1/history',
    handler: async (req, ctx) => {
      const app = req.query.get('app');
      const limit = parseLimit(req.query.get('limit'));
      return {
        body: await ctx.controller.history({
          ...(app === null || app === '' ? {} : { app }),
          ...(limit === undefined ? {} : { limit }),
        }),
      };
    },
  },
];
