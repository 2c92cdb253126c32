// Canary over DNS switching (issue 5): a real daemon with --dns-config and a real BIND 9 on
// loopback. The clients here never touch the shared public listener: each one resolves the
// record through BIND and talks to the address it got, the live color's own address. There the
// canary's share is exact and sticky (2,000 fresh clients at 20 %, a cookie keeps a client on its
// color, the allowlisted header always reaches the canary), the canary analysis judges what the
// canary served through that address, a promote flips and the record moves; a release with 5 %
// errors is taken back at its first step and the record never moves; a rolling deployment's
// batches get their shares there too, and the stragglers after its flip (the old color has no
// instances left) are answered by the new release.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import type {
  AppStatus,
  CanaryStepReport,
  DeploymentView,
  HistoryResponse,
} from '../../src/client/api-types.ts';
import { dig, portFreeOn, resolve4, startBind } from '../helpers/bind.ts';
import type { TestBind } from '../helpers/bind.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { shopConfig, startLoad } from '../helpers/pipeline-fixture.ts';
import type { LoadSample, ShopReleaseOptions } from '../helpers/pipeline-fixture.ts';
import { killProcessesWithToken } from '../helpers/token-processes.ts';

const BLUE_HOST = '127.0.0.2';
const GREEN_HOST = '127.0.0.3';
const RECORD = 'shop.example.test.';
const TTL_S = 2;
const LOW_TTL_S = 1;
const MARGIN_MS = 500;
const WAIT_MS = 60_000;
const POLL_MS = 25;

/** Fresh clients of the share test, and how many run at once. */
const FRESH_CLIENTS = 2000;
const FRESH_CONCURRENCY = 16;
const CANARY_PERCENT = 20;
/** 3.5 points is about four standard deviations of a 20 % share over 2,000 clients. */
const SHARE_TOLERANCE_POINTS = 3.5;
const ALLOW = { name: 'x-canary', value: 'yes' };

let bind: TestBind;
let daemon: TestDaemon;
let root: string;
let port: number;
const token = randomUUID();

interface Answer {
  readonly status: number;
  readonly version: string | null;
  /** The `name=value` of the Set-Cookie field, if the router set one. */
  readonly cookie: string | null;
}

/** One request on a new connection, as a client that just resolved the record makes it. */
function get(host: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: '/', agent: false, headers, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          let version: string | null = null;
          try {
            version =
              (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: string })
                .version ?? null;
          } catch {
            // Not JSON (a router error page): kept as a null version.
          }
          const cookie = res.headers['set-cookie']?.[0]?.split(';')[0] ?? null;
          resolve({ status: res.statusCode ?? 0, version, cookie });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The one address the record resolves to, through BIND, as a client's resolver gets it. */
async function resolveRecord(): Promise<string> {
  const addresses = await resolve4(bind, RECORD);
  assert.equal(addresses.length, 1, `the record holds ${addresses.join(', ')}`);
  return addresses[0] as string;
}

async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not within ${WAIT_MS} ms`);
    await delay(POLL_MS);
  }
}

async function view(id: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
  assert.equal(reply.status, 200, reply.body);
  return reply.json<DeploymentView>();
}

async function appStatus(): Promise<AppStatus> {
  const reply = await daemon.admin('GET', '/v1/apps/shop');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<AppStatus>();
}

async function historyTypes(): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const reply = await daemon.admin('GET', '/v1/history?app=shop&limit=500');
  assert.equal(reply.status, 200, reply.body);
  return reply
    .json<HistoryResponse>()
    .events.map((event) => ({ type: event.type, data: event.data }));
}

/** Writes the release and starts its deployment; resolves with the deployment's id. */
async function deploy(version: string, options: ShopReleaseOptions = {}): Promise<string> {
  const dir = join(root, version);
  await mkdir(dir, { recursive: true });
  const config = stringify(
    shopConfig(version, { ...options, env: { CUTOVER_TEST_TOKEN: token, ...options.env } }),
  );
  await writeFile(join(dir, 'cutover.yaml'), config);
  const reply = await daemon.admin('POST', '/v1/apps/shop/deployments', {
    body: { release: version, dir, config },
  });
  assert.equal(reply.status, 202, reply.body);
  return reply.json<DeploymentView>().id;
}

const ended = (id: string): Promise<DeploymentView> =>
  until(`deployment ${id} to end`, async () => {
    const current = await view(id);
    return current.ended ? current : undefined;
  });

function stepsOf(deployment: DeploymentView): readonly CanaryStepReport[] {
  return deployment.report.canary?.steps ?? [];
}

/** `count` fresh clients, `concurrency` at a time: each resolves the record, then asks once. */
async function freshClients(count: number, concurrency: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      answers.push(await get(await resolveRecord()));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return answers;
}

before(async () => {
  bind = await startBind();
  port = await portFreeOn([BLUE_HOST, GREEN_HOST]);
  root = await mkdtemp(join(tmpdir(), 'cutover-dns-canary-'));
  const configFile = join(root, 'dns.yaml');
  await writeFile(
    configFile,
    stringify({
      server: bind.server,
      key: { name: bind.key.name, algorithm: 'hmac-sha256', secretFile: bind.secretFile },
      apps: {
        shop: {
          zone: bind.zone,
          record: RECORD,
          ttl: TTL_S,
          lowTtl: LOW_TTL_S,
          margin: `${MARGIN_MS}ms`,
          colors: { blue: `${BLUE_HOST}:${port}`, green: `${GREEN_HOST}:${port}` },
        },
      },
    }),
  );
  daemon = await startTestDaemon({ args: ['--dns-config', configFile, '--workers', '1'] });
  const v1 = await ended(await deploy('v1'));
  assert.equal(v1.outcome, 'succeeded', v1.reason ?? '');
  assert.equal(await resolveRecord(), BLUE_HOST);
});

after(async () => {
  await daemon?.stop();
  await killProcessesWithToken(token);
  await bind?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

void test('a canary step at 20 % on the live color’s address: exact and sticky over 2,000 fresh clients, the allowlist always the canary, judged, promoted, the record moved', async (t) => {
  const id = await deploy('v2', {
    config: {
      strategy: 'canary',
      canary: {
        // Long enough for the clients below; the promote ends it.
        steps: [{ weight: `${CANARY_PERCENT}%`, pause: '2m' }],
        allow: { header: ALLOW },
        analysis: { minRequests: 10 },
      },
    },
  });
  // A failure below must not leave the 2 min step holding the app for the next test.
  t.after(async () => {
    if (!(await view(id)).ended) {
      await daemon.admin('POST', '/v1/apps/shop/abort', { body: { reason: 'test failed' } });
      await ended(id);
    }
  });
  await until('the canary step', async () => {
    const current = await view(id);
    if (current.ended) throw new Error(`ended before its canary step: ${current.reason}`);
    return (await historyTypes()).some((event) => event.type === 'canary-step') ? true : undefined;
  });
  assert.equal((await appStatus()).split?.percent, CANARY_PERCENT);

  // Every client resolves blue's address: the split is blue's listener's, not the record's.
  const answers = await freshClients(FRESH_CLIENTS, FRESH_CONCURRENCY);
  assert.deepEqual(
    answers.filter((answer) => answer.status !== 200),
    [],
    'requests of the fresh clients failed',
  );
  assert.ok(answers.every((answer) => answer.cookie?.startsWith('cutover_shop=') === true));
  const onCanary = answers.filter((answer) => answer.version === 'v2');
  const sharePoints = (onCanary.length / FRESH_CLIENTS) * 100;
  assert.ok(
    Math.abs(sharePoints - CANARY_PERCENT) <= SHARE_TOLERANCE_POINTS,
    `canary share ${sharePoints.toFixed(2)} % over ${FRESH_CLIENTS} fresh clients`,
  );
  assert.equal(answers.length - onCanary.length, answers.filter((a) => a.version === 'v1').length);

  // Sticky: 100 clients come back with their cookie, each to the color it had.
  const returning = answers.slice(0, 100);
  for (const first of returning) {
    const again = await get(BLUE_HOST, { cookie: first.cookie ?? '' });
    assert.equal(again.version, first.version, `${first.cookie} moved color`);
  }
  // The allowlisted header reaches the canary, even with a cookie that says live.
  const liveCookie = answers.find((answer) => answer.version === 'v1')?.cookie ?? '';
  for (let i = 0; i < 50; i++) {
    const tester = await get(BLUE_HOST, { [ALLOW.name]: ALLOW.value, cookie: liveCookie });
    assert.equal(tester.version, 'v2');
  }
  const canaryServed = onCanary.length + 50 + returning.filter((a) => a.version === 'v2').length;

  // Status counts every one of those canary requests for green, though none came through the
  // shared public listener.
  const status = await appStatus();
  assert.ok(
    status.colors.green.requests >= canaryServed,
    `green counted ${status.colors.green.requests} of ${canaryServed} canary requests`,
  );
  assert.equal(status.colors.green.stragglers, 0);

  const promote = await daemon.admin('POST', '/v1/apps/shop/promote', { body: {} });
  assert.equal(promote.status, 200, promote.body);
  const done = await ended(id);
  assert.equal(done.outcome, 'succeeded', done.reason ?? '');
  // The analysis judged the requests the canary served through blue's address, latency included.
  const [step] = stepsOf(done);
  assert.ok(step !== undefined, JSON.stringify(done.report));
  assert.equal(step.verdict, 'promoted');
  assert.ok(
    step.canary.requests >= canaryServed * 0.95,
    `the step judged ${step.canary.requests} of ${canaryServed} canary requests`,
  );
  assert.equal(step.canary.errors, 0);
  assert.equal(typeof step.canary.p99Ms, 'number');
  assert.equal(typeof step.live.p99Ms, 'number');

  // The flip moved the record; clients that resolve it now get green, all v2.
  assert.deepEqual((await dig(bind, RECORD)).addresses, [GREEN_HOST]);
  for (const answer of await freshClients(50, 5)) assert.equal(answer.version, 'v2');
});

void test('a canary with 5 % errors is taken back by the analysis of the traffic on the live color’s address; the record never moves', async () => {
  // Clients resolve the live color's address once and keep sending there (green after the
  // test above: v2 went live there).
  const before = await appStatus();
  assert.ok(before.live !== null);
  const liveColor = before.live;
  const canaryColor = liveColor === 'blue' ? 'green' : 'blue';
  const liveRelease = before.colors[liveColor].release;
  const live = await resolveRecord();
  assert.equal(live, liveColor === 'blue' ? BLUE_HOST : GREEN_HOST);
  const id = await deploy('v3', {
    env: { SHOP_ERROR_RATE: 0.05 },
    config: {
      strategy: 'canary',
      canary: {
        steps: [{ weight: `${CANARY_PERCENT}%`, pause: '1s' }],
        analysis: {
          minRequests: 100,
          maxErrorRate: '1%',
          maxErrorRateIncrease: '0.5%',
          maxWait: '30s',
        },
      },
    },
  });
  const load = startLoad({ host: live, port }, { clients: 4, maxMs: 60_000, maxRequests: 50_000 });
  let samples: readonly LoadSample[];
  let done: DeploymentView;
  try {
    done = await ended(id);
  } finally {
    samples = await load.stop();
  }

  assert.equal(done.outcome, 'rolled-back', done.reason ?? '');
  assert.ok(!done.flipped);
  assert.match(
    done.reason ?? '',
    /canary shift failed: step 1 \(20%\): canary error rate \d+\.\d% \(\d+\/\d+\) over the limit 1% \(live 0\.0%\); all traffic back on (blue|green)/,
  );
  const [step] = stepsOf(done);
  assert.ok(step !== undefined, JSON.stringify(done.report));
  assert.equal(step.verdict, 'failed');
  assert.ok(step.canary.requests >= 100, `${step.canary.requests} canary requests judged`);
  assert.equal(step.live.errors, 0);
  // Those requests came through the live color's own address, none through the shared public listener,
  // and status counts every one of them for the canary's color.
  const after = await appStatus();
  const canaryAnswers = samples.filter((sample) => sample.version === 'v3').length;
  const counted = after.colors[canaryColor].requests - before.colors[canaryColor].requests;
  assert.ok(counted >= canaryAnswers, `${counted} of ${canaryAnswers} canary requests counted`);

  // The load saw the canary's share; every failure was the canary's 500.
  assert.ok(
    samples.some((sample) => sample.version === 'v3'),
    'the canary got no traffic',
  );
  const failed = samples.filter((sample) => sample.status !== 200 || sample.error !== null);
  assert.ok(failed.length > 0, 'the canary answered no 500 to the load');
  assert.ok(failed.every((sample) => sample.version === 'v3' && sample.status === 500));
  // The split came off the live color's address with the shared router's: no canary answer afterwards.
  const endedMs = Date.parse(done.endedAt ?? '');
  assert.ok(samples.filter((s) => s.sentAtMs > endedMs).every((s) => s.version === liveRelease));
  for (const answer of await freshClients(200, 8)) assert.equal(answer.version, liveRelease);
  const events = await historyTypes();
  assert.ok(events.some((event) => event.type === 'split-cleared'));
  const drained = events.filter(
    (event) => event.type === 'drained' && event.data['color'] === canaryColor,
  );
  assert.ok(drained.length > 0, 'the canary was not drained');
  // The record never left the live color's address.
  assert.deepEqual((await dig(bind, RECORD)).addresses, [live]);
  assert.equal(after.live, liveColor);
});

void test('a rolling deployment over DNS: the live color’s address gives the new release its batches’ shares, then the record moves', async () => {
  const before = await appStatus();
  assert.ok(before.live !== null);
  const liveColor = before.live;
  const live = await resolveRecord();
  const liveRelease = before.colors[liveColor].release;
  const id = await deploy('v4', {
    config: { strategy: 'rolling', rolling: { batch: 1, pause: '1s' } },
  });
  // Clients that resolved the live address before the deployment keep sending there until the
  // flip is seen; the few sent after it are stragglers, answered by the live color's v4 since
  // rolling left the old color no instance.
  const load = startLoad({ host: live, port }, { clients: 4, maxMs: 60_000, maxRequests: 50_000 });
  let samples: readonly LoadSample[];
  let flipped: DeploymentView;
  try {
    flipped = await until(`deployment ${id} to flip`, async () => {
      const current = await view(id);
      return current.flipped || current.ended ? current : undefined;
    });
  } finally {
    samples = await load.stop();
  }
  assert.ok(flipped.flipped, flipped.reason ?? '');
  const done = await ended(id);
  assert.equal(done.outcome, 'succeeded', done.reason ?? '');
  assert.deepEqual(
    samples.filter((sample) => sample.status !== 200 || sample.error !== null),
    [],
    'requests of the load failed',
  );
  // Before the flip, the live color's address already sent the new release its share.
  const flipAt = Date.parse(
    done.steps.find((step) => step.step === 'flipping')?.startedAt ?? done.endedAt ?? '',
  );
  const beforeFlip = samples.filter((sample) => sample.doneAtMs < flipAt);
  assert.ok(
    beforeFlip.some((sample) => sample.version === 'v4'),
    `no answer from v4 on the live color's address before the flip (${beforeFlip.length} requests)`,
  );
  assert.ok(beforeFlip.some((sample) => sample.version === liveRelease));
  // The record moved to the other color's address, all v4.
  const moved = await resolveRecord();
  assert.notEqual(moved, live);
  for (const answer of await freshClients(50, 5)) assert.equal(answer.version, 'v4');
});
