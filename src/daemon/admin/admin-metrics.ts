// The daemon's Prometheus metrics. Traffic numbers come from the traffic switch's snapshot at
// scrape time (so every worker is counted); flips are counted as the admin API commits them;
// traffic shares come from the stored split of each app.
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import type { PrometheusContentType } from 'prom-client';
import type { TrafficSnapshot } from '../../ports/traffic-switch.ts';
import { requestDurationOf } from './admin-metrics-latency.ts';
import { trafficSharesOf } from './admin-metrics-share.ts';
import type { ShareSource } from './admin-metrics-share.ts';

/** What a flip was for; a drill counts both of its flips (back to the standby, and forward). */
export type FlipKind = 'deploy' | 'flip' | 'rollback' | 'drill';

export interface AdminMetrics {
  readonly contentType: string;
  flipCommitted(app: string, kind: FlipKind, durationMs: number): void;
  adminRequest(route: string, status: number): void;
  /** `apps` gives `cutover_traffic_share`; without it the gauge has no series. */
  render(snapshot: TrafficSnapshot, apps?: readonly ShareSource[]): Promise<string>;
}

/** Flips are expected in milliseconds; the buckets reach a slow multi-worker commit. */
const FLIP_DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createAdminMetrics(): AdminMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cutover_process_' });
  const labelNames = ['app', 'color'] as const;
  const requests = new Counter({
    name: 'cutover_requests_total',
    help: 'Requests routed per app and color (every worker).',
    labelNames,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'cutover_router_failed_total',
    help: 'Responses the router generated as 5xx per app and color.',
    labelNames,
    registers: [registry],
  });
  const serverErrors = new Counter({
    name: 'cutover_upstream_server_errors_total',
    help: 'Responses the instances answered with a 5xx status per app and color.',
    labelNames,
    registers: [registry],
  });
  const inflight = new Gauge({
    name: 'cutover_inflight_requests',
    help: 'Requests in flight per app and color.',
    labelNames,
    registers: [registry],
  });
  const websockets = new Gauge({
    name: 'cutover_websockets',
    help: 'Open WebSocket connections per app and color.',
    labelNames,
    registers: [registry],
  });
  const mirrored = new Counter({
    name: 'cutover_mirrored_requests_total',
    help: 'Copies of live requests the router sent to this color per app and color (mirroring).',
    labelNames,
    registers: [registry],
  });
  const mirrorDropped = new Counter({
    name: 'cutover_mirror_dropped_total',
    help: 'Copies of live requests not sent to this color (rate, body or in-flight bounds).',
    labelNames,
    registers: [registry],
  });
  const share = new Gauge({
    name: 'cutover_traffic_share',
    help: "Share of the app's public traffic (0..1) each color serves: the split's on its color, the rest on live.",
    labelNames,
    registers: [registry],
  });
  const generation = new Gauge({
    name: 'cutover_routing_generation',
    help: 'Generation of the routing table the router serves.',
    registers: [registry],
  });
  const workers = new Gauge({
    name: 'cutover_router_workers',
    help: 'Router workers serving traffic.',
    registers: [registry],
  });
  const flips = new Counter({
    name: 'cutover_flips_total',
    help: 'Committed flips per app and kind (deploy, flip, rollback, drill).',
    labelNames: ['app', 'kind'] as const,
    registers: [registry],
  });
  const flipDuration = new Histogram({
    name: 'cutover_flip_duration_seconds',
    help: 'Time from the flip command to the routing change committed on every worker.',
    labelNames: ['app', 'kind'] as const,
    buckets: FLIP_DURATION_BUCKETS_S,
    registers: [registry],
  });
  const adminRequests = new Counter({
    name: 'cutover_admin_requests_total',
    help: 'Admin API requests per route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });

  return {
    contentType: registry.contentType,
    flipCommitted(app, kind, durationMs) {
      flips.inc({ app, kind });
      flipDuration.observe({ app, kind }, durationMs / 1000);
    },
    adminRequest(route, status) {
      adminRequests.inc({ route, status: String(status) });
    },
    async render(snapshot, apps) {
      // Totals come from the router as absolute numbers: reset, then set them.
      requests.reset();
      failed.reset();
      serverErrors.reset();
      inflight.reset();
      websockets.reset();
      mirrored.reset();
      mirrorDropped.reset();
      share.reset();
      for (const [app, colors] of Object.entries(snapshot.apps)) {
        for (const [color, traffic] of Object.entries(colors)) {
          const labels = { app, color };
          requests.inc(labels, traffic.requests);
          failed.inc(labels, traffic.failed);
          serverErrors.inc(labels, traffic.serverErrors);
          inflight.set(labels, traffic.inflight);
          websockets.set(labels, traffic.websockets);
          if (traffic.mirrored !== undefined) mirrored.inc(labels, traffic.mirrored);
          if (traffic.mirrorDropped !== undefined) mirrorDropped.inc(labels, traffic.mirrorDropped);
        }
      }
      for (const app of apps ?? []) {
        for (const [color, value] of Object.entries(trafficSharesOf(app))) {
          share.set({ app: app.name, color }, value);
        }
      }
      generation.set(snapshot.generation);
      workers.set(snapshot.workers);
      // The router's buckets are counts already: prom-client's way to expose precomputed
      // values is a registry built from their JSON shape, merged with ours for one scrape.
      const durations = AggregatorRegistry.aggregate<PrometheusContentType>([
        [requestDurationOf(snapshot)],
      ]);
      return Registry.merge([registry, durations]).metrics();
    },
  };
}
