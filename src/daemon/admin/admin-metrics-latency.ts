// `cutover_request_duration_seconds` from the router's own latency buckets. The router counts
// per bucket in every worker; a prom-client Histogram only takes single observations, so the
// counts become a metric object in prom-client's JSON shape (what `getMetricsAsJSON` returns,
// and what `AggregatorRegistry.aggregate` turns into a registry).
import { LATENCY_BUCKETS_MS } from '../../core/types.ts';
import type { TrafficSnapshot } from '../../ports/traffic-switch.ts';

export const REQUEST_DURATION_METRIC = 'cutover_request_duration_seconds';

export interface HistogramSample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** One histogram metric as prom-client's `getMetricsAsJSON` returns it. */
export interface HistogramJson {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly HistogramSample[];
}

/**
 * Cumulative buckets per app and color (`le` in seconds, then `+Inf`), `_sum` and `_count`.
 * `ColorTraffic.latency` counts per bucket with one more entry than the bounds (the ones above
 * every bound); colors without latency counts (older switches) have no series. `_sum` is left
 * out when the switch keeps no latency sum rather than reported as a false zero.
 */
export function requestDurationOf(snapshot: TrafficSnapshot): HistogramJson {
  const values: HistogramSample[] = [];
  for (const [app, colors] of Object.entries(snapshot.apps)) {
    for (const [color, traffic] of Object.entries(colors)) {
      const latency = traffic.latency;
      if (latency === undefined) continue;
      let count = 0;
      LATENCY_BUCKETS_MS.forEach((boundMs, index) => {
        count += latency[index] ?? 0;
        values.push({
          metricName: `${REQUEST_DURATION_METRIC}_bucket`,
          labels: { app, color, le: boundMs / 1000 },
          value: count,
        });
      });
      count += latency[LATENCY_BUCKETS_MS.length] ?? 0;
      const labels = { app, color };
      values.push({
        metricName: `${REQUEST_DURATION_METRIC}_bucket`,
        labels: { ...labels, le: '+Inf' },
        value: count,
      });
      if (traffic.latencySumMs !== undefined) {
        values.push({
          metricName: `${REQUEST_DURATION_METRIC}_sum`,
          labels,
          value: traffic.latencySumMs / 1000,
        });
      }
      values.push({ metricName: `${REQUEST_DURATION_METRIC}_count`, labels, value: count });
    }
  }
  return {
    name: REQUEST_DURATION_METRIC,
    help: "Time from a request's head to its response head per app and color, from the router's buckets (every worker).",
    type: 'histogram',
    aggregator: 'sum',
    values,
  };
}
