// GET /metrics: Prometheus text exposition of the daemon's registry.
import type { AdminRoute } from '../admin-route.ts';

export const metricsRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/metrics',
    handler: async (_req, ctx) => {
      // The status gives each app's live color and stored split, for the traffic shares. The
      // router's counters matter more than the shares: a status that cannot be read leaves
      // the share gauge without series instead of failing the whole scrape.
      const snapshot = await ctx.describeTraffic();
      const apps = await ctx.controller.status(undefined, snapshot).then(
        (status) => status.apps,
        () => undefined,
      );
      const text = await ctx.metrics.render(snapshot, apps);
      return { body: text, contentType: ctx.metrics.contentType };
    },
  },
];
