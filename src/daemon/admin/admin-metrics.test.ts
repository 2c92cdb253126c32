import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Color } from '../../core/types.ts';
import { LATENCY_BUCKETS_MS } from '../../core/types.ts';
import type { ColorTraffic, TrafficSnapshot } from '../../ports/traffic-switch.ts';
import type { ShareSource } from './admin-metrics-share.ts';
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

function latencyTraffic(
  latency: readonly number[] | undefined,
  latencySumMs?: number,
): ColorTraffic {
  const requests = latency?.reduce((a, b) => a + b, 0) ?? 0;
  return {
    inflight: 0,
    websockets: 0,
    requests,
    failed: 0,
    serverErrors: 0,
    ...(latency === undefined ? {} : { latency }),
    ...(latencySumMs === undefined ? {} : { latencySumMs }),
  };
}

/** The value of the one line `name{labels} value` in an exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function app(
  live: Color | null,
  split: { color: Color; percent: number } | null,
  releases: Record<Color, string | null> = { blue: 'v1', green: 'v2' },
): ShareSource {
  return {
    name: 'shop',
    live,
    split:
      split === null ? null : { ...split, sticky: true, allow: { header: null, cookie: null } },
    colors: { blue: { release: releases.blue }, green: { release: releases.green } },
  };
}

describe('createAdminMetrics: request durations from the router buckets', () => {
  it('accumulates the per-bucket counts into seconds buckets, +Inf and _count the total', async () => {
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    latency[0] = 4; // <= 1 ms
    latency[LATENCY_BUCKETS_MS.indexOf(75)] = 3;
    latency[LATENCY_BUCKETS_MS.length] = 2; // above 10 s
    const text = await createAdminMetrics().render({
      generation: 1,
      workers: 2,
      apps: {
        shop: { blue: latencyTraffic(latency, 12_500), green: latencyTraffic(undefined) },
      },
    });
    const series = (le: string) =>
      sample(text, `cutover_request_duration_seconds_bucket{app="shop",color="blue",le="${le}"}`);
    assert.match(text, /^# TYPE cutover_request_duration_seconds histogram$/m);
    assert.equal(series('0.001'), 4);
    assert.equal(series('0.05'), 4);
    assert.equal(series('0.075'), 7);
    assert.equal(series('10'), 7);
    assert.equal(series('+Inf'), 9);
    const les = [...text.matchAll(/_bucket\{app="shop",color="blue",le="([^"]+)"\}/g)].map(
      (match) => match[1],
    );
    assert.deepEqual(les, [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf']);
    assert.equal(
      sample(text, 'cutover_request_duration_seconds_count{app="shop",color="blue"}'),
      9,
    );
    assert.equal(
      sample(text, 'cutover_request_duration_seconds_sum{app="shop",color="blue"}'),
      12.5,
    );
    // A color without latency counts (an older switch) has no series at all.
    assert.doesNotMatch(text, /cutover_request_duration_seconds\w*\{app="shop",color="green"/);
  });

  it('leaves _sum out when the switch keeps no latency sum, and reports totals per scrape', async () => {
    const metrics = createAdminMetrics();
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(1);
    const snapshot = (traffic: ColorTraffic): TrafficSnapshot => ({
      generation: 1,
      workers: 1,
      apps: { shop: { blue: traffic, green: latencyTraffic(undefined) } },
    });
    const first = await metrics.render(snapshot(latencyTraffic(latency)));
    assert.doesNotMatch(first, /cutover_request_duration_seconds_sum/);
    assert.equal(
      sample(first, 'cutover_request_duration_seconds_count{app="shop",color="blue"}'),
      LATENCY_BUCKETS_MS.length + 1,
    );
    const second = await metrics.render(snapshot(latencyTraffic([...latency.slice(1), 5], 7)));
    assert.equal(
      sample(second, 'cutover_request_duration_seconds_count{app="shop",color="blue"}'),
      LATENCY_BUCKETS_MS.length + 5,
    );
    assert.equal(
      sample(second, 'cutover_request_duration_seconds_sum{app="shop",color="blue"}'),
      0.007,
    );
  });
});

describe('createAdminMetrics: mirroring and traffic shares', () => {
  it('exports the mirrored and dropped copies per app and color', async () => {
    const metrics = createAdminMetrics();
    const text = await metrics.render({
      generation: 1,
      workers: 1,
      apps: {
        shop: {
          blue: { ...latencyTraffic(undefined), mirrored: 0, mirrorDropped: 0 },
          green: { ...latencyTraffic(undefined), mirrored: 120, mirrorDropped: 3 },
        },
      },
    });
    assert.match(text, /^# TYPE cutover_mirrored_requests_total counter$/m);
    assert.equal(sample(text, 'cutover_mirrored_requests_total{app="shop",color="green"}'), 120);
    assert.equal(sample(text, 'cutover_mirrored_requests_total{app="shop",color="blue"}'), 0);
    assert.equal(sample(text, 'cutover_mirror_dropped_total{app="shop",color="green"}'), 3);
  });

  it("sets each color's share from the stored split, and follows the split as it changes", async () => {
    const metrics = createAdminMetrics();
    const share = (text: string, color: Color) =>
      sample(text, `cutover_traffic_share{app="shop",color="${color}"}`);
    const empty = snapshot(0);
    const canary = await metrics.render(empty, [app('blue', { color: 'green', percent: 30 })]);
    assert.match(canary, /^# TYPE cutover_traffic_share gauge$/m);
    assert.equal(share(canary, 'green'), 0.3);
    assert.equal(share(canary, 'blue'), 0.7);
    const cleared = await metrics.render(empty, [app('blue', null)]);
    assert.equal(share(cleared, 'blue'), 1);
    assert.equal(share(cleared, 'green'), 0);
    // Without the apps (no status at hand), no share is claimed.
    const none = await metrics.render(empty);
    assert.equal(share(none, 'blue'), undefined);
  });
});
