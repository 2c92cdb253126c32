// Deployments and drills (issue 3): start the pipeline (202, it runs on in the daemon), read
// deployments, abort one, rehearse a rollback. Parse, call the controller, reply.
import type { AdminRoute } from '../admin-route.ts';
import { mutationOptions } from '../mutation-options.ts';
import {
  parseAbortRequest,
  parseAppName,
  parseDeploymentId,
  parseDrillRequest,
  parseLimit,
  parseStartDeploymentRequest,
} from '../request-schemas.ts';

export const deploymentRoutes: readonly AdminRoute[] = [
  {
    method: 'POST',
    pattern: '/v1/apps/:app/deployments',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      const body = parseStartDeploymentRequest(req.body);
      const view = await ctx.controller.startDeployment(app, body, mutationOptions(req));
      // 202: the deployment was taken and runs on; GET /v1/deployments/:id follows it.
      return { status: 202, body: view };
    },
  },
  {
    method: 'GET',
    pattern: '/v1/deployments',
    handler: async (req, ctx) => {
      const app = req.query.get('app');
      const limit = parseLimit(req.query.get('limit'));
      return {
        body: await ctx.controller.listDeployments({
          ...(app === null || app === '' ? {} : { app: parseAppName(app) }),
          ...(limit === undefined ? {} : { limit }),
        }),
      };
    },
  },
  {
    method: 'GET',
    pattern: '/v1/deployments/:id',
    handler: async (req, ctx) => ({
      body: await ctx.controller.getDeployment(parseDeploymentId(req.params.id)),
    }),
  },
  {
    method: 'POST',
    pattern: '/v1/deployments/:id/abort',
    handler: async (req, ctx) => {
      const id = parseDeploymentId(req.params.id);
      const body = parseAbortRequest(req.body);
      // The path names no app: read the deployment first so the audit line names its app.
      const current = await ctx.controller.getDeployment(id);
      req.auditApp(current.app);
      return { body: await ctx.controller.abortDeployment(id, body, mutationOptions(req)) };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/apps/:app/abort',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      const body = parseAbortRequest(req.body);
      return { body: await ctx.controller.abortApp(app, body, mutationOptions(req)) };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/apps/:app/drill',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      const body = parseDrillRequest(req.body);
      const report = await ctx.controller.drill(app, body, mutationOptions(req));
      ctx.metrics.flipCommitted(report.app, 'drill', report.back.flip.durationMs);
      if (report.forward !== null) {
        ctx.metrics.flipCommitted(report.app, 'drill', report.forward.flip.durationMs);
      }
      return { body: report };
    },
  },
];
