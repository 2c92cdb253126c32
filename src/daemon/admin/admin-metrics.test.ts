import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrafficSnapshot } from '../../ports/traffic-switch.ts';
import { createAdminMetrics } from './admin-metrics.ts';

function snapshot(greenServerErrors: number): TrafficSnapshot {
  return {
    generation: 3,
    workers: 2,
    apps: {
      shop: {
        blue: { inflight: 0, websockets: 0, requests: 40, failed: 1, serverErrors: 0 },
        green: {
          inflight: 1,
          websockets: 0,
          requests: 25,
          failed: 2,
          serverErrors: greenServerErrors,
        },
      },
    },
  };
}

describe('createAdminMetrics', () => {
  it("exports the instances' 5xx per app and color beside the router's own", async () => {
    const metrics = createAdminMetrics();
    const text = await metrics.render(snapshot(7));
    assert.match(text, /^# TYPE cutover_upstream_server_errors_total counter$/m);
    assert.match(text, /^cutover_upstream_server_errors_total\{app="shop",color="green"\} 7$/m);
    assert.match(text, /^cutover_upstream_server_errors_total\{app="shop",color="blue"\} 0$/m);
    assert.match(text, /^cutover_router_failed_total\{app="shop",color="green"\} 2$/m);
  });

  it('reports the totals the router holds at each scrape, never a sum of scrapes', async () => {
    const metrics = createAdminMetrics();
    await metrics.render(snapshot(7));
    const text = await metrics.render(snapshot(9));
    assert.match(text, /^cutover_upstream_server_errors_total\{app="shop",color="green"\} 9$/m);
  });
});
