// Migrations (issue 4): what a release would apply, what the live release has, and the contract
// phase. Parse, call the controller, reply; the contract is a mutation (JSON, If-Match, audited
// by the handler like every POST).
import type { AdminRoute } from '../admin-route.ts';
import { mutationOptions } from '../mutation-options.ts';
import {
  parseAppName,
  parseMigrationsContractRequest,
  parseMigrationsPlanRequest,
} from '../request-schemas.ts';

export const migrationRoutes: readonly AdminRoute[] = [
  {
    // A POST because the release's cutover.yaml travels in the body; it changes nothing.
    method: 'POST',
    pattern: '/v1/apps/:app/migrations/plan',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      const body = parseMigrationsPlanRequest(req.body);
      return { body: await ctx.controller.migrationsPlan(app, body) };
    },
  },
  {
    method: 'GET',
    pattern: '/v1/apps/:app/migrations',
    handler: async (req, ctx) => ({
      body: await ctx.controller.migrationsStatus(parseAppName(req.params.app)),
    }),
  },
  {
    method: 'POST',
    pattern: '/v1/apps/:app/migrations/contract',
    handler: async (req, ctx) => {
      const app = parseAppName(req.params.app);
      parseMigrationsContractRequest(req.body);
      return { body: await ctx.controller.migrationsContract(app, mutationOptions(req)) };
    },
  },
];
