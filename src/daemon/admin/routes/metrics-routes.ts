// GET /metrics: Prometheus text exposition of the daemon's registry.
import type { AdminRoute } from '../admin-route.ts';

export const metricsRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/metrics',
    handler: async (_req, ctx) => {
      const snapshot = await ctx.describeTraffic();
      const text = await ctx.metrics.render(snapshot);
      return { body: text, contentType: ctx.metrics.contentType };
    },
  },
];
