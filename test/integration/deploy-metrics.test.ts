// /metrics against a real daemon and real shop instances: cutover_flips_total counts the flips
// deployments make (the pipeline's flip, and its flip back after a failed switch window), not
// only the manual ones of the admin routes; cutover_request_duration_seconds counts every
// routed request in buckets that agree with their sum; cutover_traffic_share follows a canary
// step; the mirrored copies of a warm-up are counted per color.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentView } from '../../src/client/api-types.ts';
import type { Color } from '../../src/core/types.ts';
import { LATENCY_BUCKETS_MS } from '../../src/core/types.ts';
import {
  startLoad,
  startPipelineDaemon,
  waitFor,
  type PipelineDaemon,
} from '../helpers/pipeline-fixture.ts';

/** Requests sent one at a time for the duration histogram. */
const REQUESTS = 60;

/** A canary step too long to end within the test: only the abort ends it. */
const SLOW_CANARY = {
  strategy: 'canary',
  canary: { steps: [{ weight: '30%', pause: '2m' }], analysis: { minRequests: 10 } },
};

type Scrape = ReadonlyMap<string, number>;

function counter(metrics: string, kind: string): number {
  const line = metrics
    .split('\n')
    .find((each) => each.startsWith(`cutover_flips_total{app="shop",kind="${kind}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** Every sample of GET /metrics by its series (`name{labels}`). */
async function scrape(fx: PipelineDaemon): Promise<Scrape> {
  const reply = await fx.daemon.admin('GET', '/metrics');
  assert.equal(reply.status, 200, reply.body);
  const samples = new Map<string, number>();
  for (const line of reply.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const shop = (color: Color): string => `app="shop",color="${color}"`;
const other = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');

/** The increase of one series between two scrapes (absent counts as 0). */
function delta(before: Scrape, after: Scrape, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0);
}

function durationCount(samples: Scrape, color: Color): number {
  return samples.get(`cutover_request_duration_seconds_count{${shop(color)}}`) ?? 0;
}

void test("a deployment's flip and its automatic flip back are counted in /metrics", async (t) => {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
  assert.equal((await fx.deployAndWait(await fx.release('v2'))).outcome, 'succeeded');
  // Fine for smoke and warm-up, 500s after 5 requests per instance: the probes flip it back.
  const bad = await fx.release('v3', {
    env: { SHOP_FAULT: 'fails-under-traffic', SHOP_FAIL_AFTER_REQUESTS: 5 },
    config: { switch: { probeWindow: '3s' } },
  });
  assert.equal((await fx.deployAndWait(bad)).outcome, 'rolled-back');
  const reply = await fx.daemon.admin('GET', '/metrics');
  assert.equal(reply.status, 200);
  assert.equal(counter(reply.body, 'deploy'), 3, reply.body);
  assert.equal(counter(reply.body, 'rollback'), 1, reply.body);
});

void test('request durations count every routed request in buckets that agree with their sum', async (t) => {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
  const live = (await fx.app()).live;
  assert.ok(live !== null);
  const before = await scrape(fx);
  for (let i = 0; i < REQUESTS; i += 1) {
    assert.equal((await fx.daemon.get('public', '/')).status, 200);
  }
  const after = await scrape(fx);
  const series = (name: string, le?: string): string =>
    `cutover_request_duration_seconds_${name}{${shop(live)}${le === undefined ? '' : `,le="${le}"`}}`;
  assert.equal(delta(before, after, series('bucket', '+Inf')), REQUESTS);
  assert.equal(delta(before, after, series('count')), REQUESTS);
  assert.equal(delta(before, after, `cutover_requests_total{${shop(live)}}`), REQUESTS);
  // Cumulative buckets: each request lies in one bucket, between the previous bound and its own.
  let below = 0;
  let lowestSum = 0;
  let highestSum = 0;
  for (const [index, boundMs] of LATENCY_BUCKETS_MS.entries()) {
    const upTo = delta(before, after, series('bucket', String(boundMs / 1000)));
    assert.ok(upTo >= below, `bucket le=${boundMs / 1000} below the one before it`);
    lowestSum += (upTo - below) * ((LATENCY_BUCKETS_MS[index - 1] ?? 0) / 1000);
    highestSum += (upTo - below) * (boundMs / 1000);
    below = upTo;
  }
  const above = REQUESTS - below;
  lowestSum += above * ((LATENCY_BUCKETS_MS.at(-1) ?? 0) / 1000);
  if (above > 0) highestSum = Infinity;
  const sum = delta(before, after, series('sum'));
  assert.ok(sum > 0, 'no latency summed');
  assert.ok(
    sum >= lowestSum - 1e-9 && sum <= highestSum + 1e-9,
    `_sum ${sum} s outside what the buckets allow: ${lowestSum}..${highestSum} s`,
  );
  // The idle color routed nothing; without a split the live color has all of the traffic.
  assert.equal(delta(before, after, `cutover_requests_total{${shop(other(live))}}`), 0);
  assert.equal(after.get(`cutover_traffic_share{${shop(live)}}`), 1);
  assert.equal(after.get(`cutover_traffic_share{${shop(other(live))}}`), 0);
});

void test('traffic shares follow a canary step and mirrored copies are counted per color', async (t) => {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  assert.equal((await fx.deployAndWait(await fx.release('v1'))).outcome, 'succeeded');
  // A warm-up long enough for the load to be copied: 300 requests one at a time.
  const v2 = await fx.release('v2', {
    config: { ...SLOW_CANARY, warmup: { requests: 300, concurrency: 1 } },
  });
  const load = startLoad(fx.daemon.info.public, { clients: 2, maxMs: 60_000, maxRequests: 50_000 });
  const stopped = { done: false };
  t.after(async () => {
    if (!stopped.done) await load.stop();
  });
  const reply = await fx.daemon.admin('POST', '/v1/apps/shop/deployments', {
    body: { release: v2.release, dir: v2.dir, config: v2.config, mirror: true },
  });
  assert.equal(reply.status, 202, reply.body);
  const started = reply.json<DeploymentView>();
  const atShift = await fx.waitStep(started.id, 'shifting');
  const canary = atShift.to;
  assert.ok(canary !== null);
  const live = other(canary);

  // The shift ends the mirror: once the counts settle, /metrics says what status says.
  const copies = await waitFor('the mirrored copies on /metrics to match status', async () => {
    const app = await fx.app();
    const samples = await scrape(fx);
    const exported = samples.get(`cutover_mirrored_requests_total{${shop(canary)}}`);
    return app.mirror === undefined && exported === (app.colors[canary].mirrored ?? 0)
      ? exported
      : undefined;
  });
  assert.ok(copies > 0, 'no mirrored copies counted');
  const copiesAfter = (await scrape(fx)).get(`cutover_mirrored_requests_total{${shop(canary)}}`);
  assert.equal(copiesAfter, copies, 'copies still counted after the mirror ended');

  const split = await waitFor('the canary share in the stored state', async () => {
    const app = await fx.app();
    return app.split?.color === canary ? app.split : undefined;
  });
  assert.equal(split.percent, 30);
  const first = await scrape(fx);
  assert.equal(first.get(`cutover_traffic_share{${shop(canary)}}`), 0.3);
  assert.equal(first.get(`cutover_traffic_share{${shop(live)}}`), 0.7);
  // The routed requests agree with the shares: fresh clients, one random bucket each.
  const routed = (samples: Scrape): number =>
    durationCount(samples, canary) + durationCount(samples, live);
  const later = await waitFor('300 more routed requests', async () => {
    const samples = await scrape(fx);
    return routed(samples) - routed(first) >= 300 ? samples : undefined;
  });
  const onCanary = durationCount(later, canary) - durationCount(first, canary);
  const observed = onCanary / (routed(later) - routed(first));
  assert.ok(observed > 0.2 && observed < 0.4, `${observed} of the requests on the canary`);

  const aborted = await fx.daemon.admin('POST', '/v1/apps/shop/abort', {
    body: { reason: 'metrics test' },
  });
  assert.equal(aborted.status, 200, aborted.body);
  assert.equal((await fx.waitEnded(started.id)).outcome, 'aborted');
  stopped.done = true;
  await load.stop();
  const back = await scrape(fx);
  assert.equal(back.get(`cutover_traffic_share{${shop(live)}}`), 1);
  assert.equal(back.get(`cutover_traffic_share{${shop(canary)}}`), 0);
});
