// GET /v1/status and GET /v1/apps/:app: read-only; the ETag is the state revision.
import { CutoverError } from '../../../core/errors.ts';
import type { AdminRoute } from '../admin-route.ts';

export const statusRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/v1/status',
    handler: async (_req, ctx) => {
      const status = await ctx.controller.status();
      return { body: status, etag: status.revision };
    },
  },
  {
    method: 'GET',
    pattern: '/v1/apps/:app',
    handler: async (req, ctx) => {
      const app = req.params.app ?? '';
      const status = await ctx.controller.status(app);
      const found = status.apps.find((entry) => entry.name === app);
      if (found === undefined) {
        throw new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', `No app named "${app}" is deployed.`);
      }
      return { body: found, etag: status.revision };
    },
  },
];
