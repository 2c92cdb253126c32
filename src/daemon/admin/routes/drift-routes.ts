// GET /v1/apps/:app/drift (issue 5): the drift report between the app's colors at any time.
// Read-only: the controller re-snapshots the live color and diffs the stored snapshots.
import { CutoverError } from '../../../core/errors.ts';
import type { AdminRoute } from '../admin-route.ts';
import { parseAppName } from '../request-schemas.ts';

export const driftRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/v1/apps/:app/drift',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      if (ctx.controller.drift === undefined) {
        throw new CutoverError('CUTOVER_ERR_INTERNAL', 'This daemon does not snapshot config.');
      }
      return { body: await ctx.controller.drift(app) };
    },
  },
];
