// The traffic split of the built-in router (issue 5: canary and rolling shares): sticky buckets
// in the cutover_<app> cookie, the allowlist, per-request draws, clearing the split, WebSocket
// upgrades, and the per-color latency buckets, on real sockets.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { LATENCY_BUCKETS_MS } from '../../src/core/types.ts';
import type { ColorTraffic } from '../../src/ports/traffic-switch.ts';
import { headerValues, sendRaw } from '../helpers/raw-http.ts';
import { applyShop, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { Reply, RouterFixture } from '../helpers/router-fixture.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];
const CLIENTS = 10_000;
/** Requests in flight at once over the keep-alive agent. */
const PARALLEL = 16;
const COOKIE = /^cutover_shop=(\d+); Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/;
const NO_ALLOW = { header: null, cookie: null };

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

function servedBy(reply: Reply): string {
  assert.equal(reply.status, 200);
  return String(reply.headers['x-upstream']);
}

/** The bucket a response gave the client, or null when it set no bucket cookie. */
function bucketSet(reply: Reply): number | null {
  const cookies = reply.headers['set-cookie'] ?? [];
  if (cookies.length === 0) return null;
  assert.equal(cookies.length, 1);
  const match = COOKIE.exec(cookies[0] as string);
  assert.ok(match !== null, `unexpected Set-Cookie ${cookies[0]}`);
  return Number(match[1]);
}

/** Runs `count` jobs, PARALLEL at a time. */
async function runAll<T>(count: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

async function trafficOf(fx: RouterFixture): Promise<Record<'blue' | 'green', ColorTraffic>> {
  const snapshot = await fx.router.describe();
  const shop = snapshot.apps.shop;
  assert.ok(shop !== undefined);
  return shop;
}

function share(count: number, total: number): number {
  return (100 * count) / total;
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router traffic split (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    let agent: Agent;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath, splitSeed: 20_261_126 });
      agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
    });
    after(async () => {
      agent.destroy();
      await fx.close();
    });

    it('sends 5 % of 10,000 fresh clients to the split color, and keeps them there at 25 %', async () => {
      await applyShop(fx, { split: { percent: 5, sticky: true, allow: NO_ALLOW } });
      const before = await trafficOf(fx);
      const first = await runAll(CLIENTS, async () => {
        const reply = await send(fx.publicPort, { agent });
        const bucket = bucketSet(reply);
        assert.ok(bucket !== null, 'a fresh client gets its bucket');
        const color = servedBy(reply);
        assert.equal(color, bucket < 500 ? 'green' : 'blue', `bucket ${bucket}`);
        return { bucket, color };
      });
      const greenAt5 = first.filter((client) => client.color === 'green').length;
      assert.ok(Math.abs(share(greenAt5, CLIENTS) - 5) <= 1, `${greenAt5} of ${CLIENTS} on green`);
      // Each request is counted against the color it went to.
      const counted = await trafficOf(fx);
      assert.equal(counted.green.requests - before.green.requests, greenAt5);
      assert.equal(counted.blue.requests - before.blue.requests, CLIENTS - greenAt5);

      await applyShop(fx, { split: { percent: 25, sticky: true, allow: NO_ALLOW } });
      const second = await runAll(CLIENTS, async (i) => {
        const client = first[i] as { bucket: number; color: string };
        const reply = await send(fx.publicPort, {
          agent,
          headers: { cookie: `theme=dark; cutover_shop=${client.bucket}` },
        });
        assert.equal(bucketSet(reply), null, 'a client with a bucket keeps it');
        const color = servedBy(reply);
        if (client.color === 'green') assert.equal(color, 'green', 'raising keeps the canary');
        return color;
      });
      const greenAt25 = second.filter((color) => color === 'green').length;
      assert.ok(Math.abs(share(greenAt25, CLIENTS) - 25) <= 1, `${greenAt25} on green at 25 %`);
    });

    it('keeps a client on its color across requests, and moves it back when lowered', async () => {
      await applyShop(fx, { split: { percent: 50, sticky: true, allow: NO_ALLOW } });
      const onGreen = { cookie: 'cutover_shop=4999' };
      const onBlue = { cookie: 'cutover_shop=5000' };
      for (let i = 0; i < 20; i++) {
        assert.equal(servedBy(await send(fx.publicPort, { agent, headers: onGreen })), 'green');
        assert.equal(servedBy(await send(fx.publicPort, { agent, headers: onBlue })), 'blue');
      }
      await applyShop(fx, { split: { percent: 49.99, sticky: true, allow: NO_ALLOW } });
      assert.equal(servedBy(await send(fx.publicPort, { agent, headers: onGreen })), 'blue');
    });

    it('treats a malformed bucket cookie as absent: a fresh bucket, never an error', async () => {
      await applyShop(fx, { split: { percent: 50, sticky: true, allow: NO_ALLOW } });
      for (const value of ['', 'abc', '10000', '-1', '007', '1.5', '%00']) {
        const reply = await send(fx.publicPort, {
          agent,
          headers: { cookie: `cutover_shop=${value}` },
        });
        const bucket = bucketSet(reply);
        assert.ok(bucket !== null, `a fresh bucket for ${JSON.stringify(value)}`);
        assert.equal(servedBy(reply), bucket < 5000 ? 'green' : 'blue');
      }
    });

    it('sends the allowlisted header and cookie to the split color at 0.5 %', async () => {
      const allow = {
        header: { name: 'X-Canary', value: 'always' },
        cookie: { name: 'canary', value: 'yes' },
      };
      await applyShop(fx, { split: { percent: 0.5, sticky: true, allow } });
      // Buckets 50 and up are live at 0.5 %: only the allowlist can send them to green.
      const live = 'cutover_shop=9000';
      for (let i = 0; i < 10; i++) {
        const byHeader = await send(fx.publicPort, {
          agent,
          headers: { 'x-canary': 'always', cookie: live },
        });
        assert.equal(servedBy(byHeader), 'green');
        const byCookie = await send(fx.publicPort, {
          agent,
          headers: { cookie: `${live}; canary=yes` },
        });
        assert.equal(servedBy(byCookie), 'green');
        const neither = await send(fx.publicPort, {
          agent,
          headers: { 'x-canary': 'sometimes', cookie: `${live}; canary=no` },
        });
        assert.equal(servedBy(neither), 'blue');
      }
    });

    it('sends 100 % to live on the next request once the split is cleared, on the same connection', async () => {
      const single = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        await applyShop(fx, { split: { percent: 100, sticky: true, allow: NO_ALLOW } });
        const split = await send(fx.publicPort, { agent: single });
        assert.equal(servedBy(split), 'green');
        await applyShop(fx, {});
        for (let i = 0; i < 50; i++) {
          const reply = await send(fx.publicPort, {
            agent: single,
            headers: { cookie: 'cutover_shop=0' },
          });
          assert.equal(servedBy(reply), 'blue');
          assert.equal(bucketSet(reply), null, 'no split, no cookie');
          assert.equal(reply.reusedSocket, true, 'the same keep-alive connection');
        }
      } finally {
        single.destroy();
      }
    });

    it('draws per request without a cookie when not sticky: 20 % of 10,000 within 1 point', async () => {
      await applyShop(fx, { split: { percent: 20, sticky: false, allow: NO_ALLOW } });
      const colors = await runAll(CLIENTS, async () => {
        const reply = await send(fx.publicPort, {
          agent,
          headers: { cookie: 'cutover_shop=0' },
        });
        assert.equal(bucketSet(reply), null);
        return servedBy(reply);
      });
      const green = colors.filter((color) => color === 'green').length;
      assert.ok(Math.abs(share(green, CLIENTS) - 20) <= 1, `${green} of ${CLIENTS} on green`);
    });

    it('splits HTTP/1.0 requests and pipelined requests on one connection by their own cookies', async () => {
      await applyShop(fx, { split: { percent: 50, sticky: true, allow: NO_ALLOW } });
      // HTTP/1.0 leaves the fast path for node:http: the same choice applies there.
      const old = await sendRaw(
        fx.publicPort,
        'GET / HTTP/1.0\r\nHost: shop.test\r\nCookie: cutover_shop=10\r\n\r\n',
        { untilClose: true, timeoutMs: 3000 },
      );
      assert.equal(old.responses[0]?.body.toString(), 'green');
      const fresh = await sendRaw(fx.publicPort, 'GET / HTTP/1.0\r\nHost: shop.test\r\n\r\n', {
        untilClose: true,
        timeoutMs: 3000,
      });
      const [cookie] = headerValues(fresh.responses[0]?.rawHeaders ?? [], 'set-cookie');
      const bucket = Number(COOKIE.exec(cookie ?? '')?.[1]);
      assert.equal(fresh.responses[0]?.body.toString(), bucket < 5000 ? 'green' : 'blue');
      // Two pipelined requests on one connection: each is chosen on its own.
      const pipelined = await sendRaw(
        fx.publicPort,
        'GET / HTTP/1.1\r\nHost: shop.test\r\nCookie: cutover_shop=9999\r\n\r\n' +
          'GET / HTTP/1.1\r\nHost: shop.test\r\nCookie: cutover_shop=0\r\n\r\n',
        { finalResponses: 2, timeoutMs: 3000 },
      );
      assert.deepEqual(
        pipelined.responses.map((response) => response.body.toString()),
        ['blue', 'green'],
      );
    });

    it('sends WebSocket upgrades by the same choice, and keeps the preview on the idle color', async () => {
      const allow = { header: { name: 'X-Canary', value: '1' }, cookie: null };
      await applyShop(fx, { split: { percent: 0, sticky: true, allow } });
      const greeting = (headers: Record<string, string>) =>
        new Promise<{ first: string; cookie: string | undefined }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${fx.publicPort}/chat`, { headers });
          let cookie: string | undefined;
          ws.on('upgrade', (response) => {
            cookie = response.headers['set-cookie']?.[0];
          });
          ws.once('message', (data: Buffer) => {
            ws.close();
            resolve({ first: data.toString(), cookie });
          });
          ws.once('error', reject);
        });
      assert.equal((await greeting({ 'x-canary': '1' })).first, 'green');
      const fresh = await greeting({});
      assert.equal(fresh.first, 'blue');
      assert.match(fresh.cookie ?? '', COOKIE, 'a fresh WebSocket client gets its bucket');
      await applyShop(fx, { split: { percent: 100, sticky: true, allow: NO_ALLOW } });
      assert.equal((await greeting({ cookie: 'cutover_shop=9999' })).first, 'green');
      // The preview listener serves the idle color whatever the split says.
      await applyShop(fx, { split: { percent: 0, sticky: true, allow: NO_ALLOW } });
      const preview = await send(fx.previewPort, { agent });
      assert.equal(servedBy(preview), 'green');
      assert.equal(bucketSet(preview), null);
    });

    it('counts every response into the latency buckets of its color, summed over workers', async () => {
      await applyShop(fx, { split: { percent: 0, sticky: true, allow: NO_ALLOW } });
      const before = await trafficOf(fx);
      const fast = 40;
      await runAll(fast, () =>
        send(fx.publicPort, { agent, headers: { cookie: 'cutover_shop=1' } }),
      );
      const slow = await send(fx.publicPort, { agent, path: '/slow?ms=120' });
      assert.equal(servedBy(slow), 'blue');
      const after = await trafficOf(fx);
      const latency = (after.blue.latency ?? []).map((n, i) => n - (before.blue.latency?.[i] ?? 0));
      assert.equal(latency.length, LATENCY_BUCKETS_MS.length + 1);
      assert.equal(
        latency.reduce((a, b) => a + b, 0),
        fast + 1,
      );
      // The 120 ms response is in a bucket whose bound is at least 120 ms (150 or above).
      const from150 = LATENCY_BUCKETS_MS.indexOf(150);
      assert.ok(latency.slice(from150).reduce((a, b) => a + b, 0) >= 1);
      assert.ok(latency.slice(0, LATENCY_BUCKETS_MS.indexOf(100)).reduce((a, b) => a + b, 0) >= 1);
      const green = (after.green.latency ?? []).reduce((a, b) => a + b, 0);
      const greenBefore = (before.green.latency ?? []).reduce((a, b) => a + b, 0);
      assert.equal(green, greenBefore, 'nothing went to green at 0 %');
    });
  });
}
