// `cutover promote` (issue 5): the app's deployment that shifts traffic in steps (a canary) skips
// its remaining steps and goes on to the flip. Parse, call the controller, reply.
import { CutoverError } from '../../../core/errors.ts';
import type { AdminRoute } from '../admin-route.ts';
import { mutationOptions } from '../mutation-options.ts';
import { parseAppName } from '../request-schemas.ts';

/** The body is an empty object: promote takes no options. */
function parsePromoteRequest(body: unknown): void {
  if (body === undefined) return;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      'promote: expected an empty JSON object as the body.',
    );
  }
  const keys = Object.keys(body);
  if (keys.length > 0) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `promote: unknown field "${keys[0] ?? ''}"; promote takes no options (send {}).`,
      { field: keys[0] },
    );
  }
}

export const promoteRoutes: readonly AdminRoute[] = [
  {
    method: 'POST',
    pattern: '/v1/apps/:app/promote',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      parsePromoteRequest(req.body);
      if (ctx.controller.promoteApp === undefined) {
        throw new CutoverError('CUTOVER_ERR_INTERNAL', 'This daemon cannot promote deployments.');
      }
      return { body: await ctx.controller.promoteApp(app, mutationOptions(req)) };
    },
  },
];
