// POST /v1/apps/:app/{deploy,flip,rollback}: parse, call the controller, count the flip.
import type { FlipResponse } from '../../../client/api-types.ts';
import type { AdminContext } from '../admin-context.ts';
import type { AdminRoute } from '../admin-route.ts';
import { mutationOptions } from '../mutation-options.ts';
import { parseDeployRequest, parseFlipRequest, parseRollbackRequest } from '../request-schemas.ts';

function countFlip(
  ctx: AdminContext,
  kind: 'deploy' | 'flip' | 'rollback',
  flip: FlipResponse,
): void {
  ctx.metrics.flipCommitted(flip.app, kind, flip.durationMs);
}

export const mutationRoutes: readonly AdminRoute[] = [
  {
    method: 'POST',
    pattern: '/v1/apps/:app/deploy',
    handler: async (req, ctx) => {
      const body = parseDeployRequest(req.body);
      const result = await ctx.controller.deploy(req.params.app ?? '', body, mutationOptions(req));
      countFlip(ctx, 'deploy', result.flip);
      return { body: result };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/apps/:app/flip',
    handler: async (req, ctx) => {
      const body = parseFlipRequest(req.body);
      const result = await ctx.controller.flip(req.params.app ?? '', body, mutationOptions(req));
      countFlip(ctx, 'flip', result);
      return { body: result };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/apps/:app/rollback',
    handler: async (req, ctx) => {
      const body = parseRollbackRequest(req.body);
      const result = await ctx.controller.rollback(
        req.params.app ?? '',
        body,
        mutationOptions(req),
      );
      countFlip(ctx, 'rollback', result);
      return { body: result };
    },
  },
];
