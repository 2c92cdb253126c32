// Mirroring in the built-in router (issue 5): copies of public requests to the idle color, with
// X-Cutover-Mirror: 1, bounded by a rate per worker and a body size; a hanging or resetting
// mirror never slows or fails the live response. Real sockets throughout.
import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ColorTraffic } from '../../src/ports/traffic-switch.ts';
import { MIRROR_MAX_INFLIGHT } from '../../src/router/mirror-sender.ts';
import { applyShop, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { RouterFixture } from '../helpers/router-fixture.ts';

const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];
const WAIT_MS = 5000;

interface Copy {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

interface Recorder {
  readonly address: string;
  readonly copies: Copy[];
  close(): Promise<void>;
}

/** An app that records every request it gets and answers 200 `mirror`. */
async function startRecorder(): Promise<Recorder> {
  const copies: Copy[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      copies.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.end('mirror');
    });
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    copies,
    close: () => closeServer(server),
  };
}

/** A mirror that accepts connections and then never answers, or resets each one at once. */
async function startBrokenMirror(
  mode: 'hang' | 'reset',
): Promise<{ address: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    socket.on('error', () => {});
    if (mode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

async function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('did not bind');
  return address.port;
}

function closeServer(server: Server | ReturnType<typeof createServer>): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function green(fx: RouterFixture): Promise<ColorTraffic> {
  const shop = (await fx.router.describe()).apps.shop;
  assert.ok(shop !== undefined);
  return shop.green;
}

/** A chunked POST (no Content-Length): its body is not known in advance. */
function sendChunked(port: number, agent: Agent, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/echo', agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 3));
    req.end(body.slice(3));
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

for (const { workers, fastPath } of CONFIGS) {
  const label = `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
  describe(`router mirroring (${label})`, () => {
    let fx: RouterFixture;
    let recorder: Recorder;
    let agent: Agent;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath });
      recorder = await startRecorder();
      agent = new Agent({ keepAlive: true, maxSockets: 8 });
    });
    after(async () => {
      agent.destroy();
      await fx.close();
      await recorder.close();
    });

    it('sends a copy of each public request to the idle color, marked X-Cutover-Mirror: 1', async () => {
      recorder.copies.length = 0;
      const mirror = { maxPerSecond: 1000, maxBodyBytes: 1024 };
      await applyShop(fx, { mirror, green: [recorder.address] });
      const before = await green(fx);
      for (let i = 0; i < 5; i++) {
        const reply = await send(fx.publicPort, {
          agent,
          path: `/item?i=${i}`,
          headers: { 'x-cutover-mirror': 'spoofed', 'x-trace': `t${i}` },
        });
        assert.equal(reply.status, 200);
        assert.equal(reply.body.toString(), 'blue', 'the live response is the live color');
      }
      await waitFor('5 copies', () => recorder.copies.length === 5);
      const urls = recorder.copies.map((copy) => copy.url).sort();
      assert.deepEqual(
        urls,
        [0, 1, 2, 3, 4].map((i) => `/item?i=${i}`),
      );
      for (const copy of recorder.copies) {
        assert.equal(copy.method, 'GET');
        assert.equal(copy.headers['x-cutover-mirror'], '1');
        assert.match(String(copy.headers['x-trace']), /^t\d$/);
        assert.ok(copy.headers['x-forwarded-for'] !== undefined);
      }
      const after = await green(fx);
      assert.equal((after.mirrored ?? 0) - (before.mirrored ?? 0), 5);
      assert.equal(after.requests, before.requests, 'copies are not requests of the color');
      // A client cannot mark a live request as a copy.
      const echoed = await send(fx.publicPort, {
        agent,
        path: '/echo',
        headers: { 'X-Cutover-Mirror': '1', X_Cutover_Mirror: '1' },
      });
      const fields = (JSON.parse(echoed.body.toString()) as { headers: string[] }).headers;
      assert.ok(!fields.some((field) => /^x[-_]cutover[-_]mirror$/i.test(field)));
      await waitFor('the copy of the echo', () => recorder.copies.length === 6);
      // The preview listener is not mirrored: it already serves the idle color.
      await send(fx.previewPort, { agent });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(recorder.copies.length, 7, 'one preview request, no copy of it');
    });

    it('sends no copy of a request the split already sent to the mirror color', async () => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        split: { percent: 100, sticky: false, allow: { header: null, cookie: null } },
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1024 },
        green: [recorder.address],
      });
      const before = await green(fx);
      for (let i = 0; i < 5; i++) {
        assert.equal((await send(fx.publicPort, { agent })).body.toString(), 'mirror');
      }
      const after = await green(fx);
      assert.equal(recorder.copies.length, 5, 'the requests themselves, no copies');
      assert.equal(after.mirrored, before.mirrored);
    });

    it('sends at most maxPerSecond copies a second per worker and counts the rest as dropped', async () => {
      recorder.copies.length = 0;
      const perSecond = 20;
      await applyShop(fx, {
        mirror: { maxPerSecond: perSecond, maxBodyBytes: 1024 },
        green: [recorder.address],
      });
      const before = await green(fx);
      const started = performance.now();
      const total = 300;
      await Promise.all(
        Array.from({ length: total }, async () => {
          const reply = await send(fx.publicPort, { agent });
          assert.equal(reply.body.toString(), 'blue');
        }),
      );
      const elapsedS = (performance.now() - started) / 1000;
      const after = await green(fx);
      const mirrored = (after.mirrored ?? 0) - (before.mirrored ?? 0);
      const dropped = (after.mirrorDropped ?? 0) - (before.mirrorDropped ?? 0);
      assert.equal(mirrored + dropped, total);
      assert.ok(mirrored >= perSecond, `a full bucket allows a burst: ${mirrored}`);
      assert.ok(
        mirrored <= workers * (perSecond + Math.ceil(perSecond * elapsedS) + 1),
        `${mirrored} copies in ${elapsedS.toFixed(2)} s`,
      );
      await waitFor('the copies', () => recorder.copies.length === mirrored);
    });

    it('copies a body only when its length is known and within maxBodyBytes', async () => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1000 },
        green: [recorder.address],
      });
      const before = await green(fx);
      const small = 'x'.repeat(600);
      const live = await send(fx.publicPort, { agent, method: 'POST', path: '/echo', body: small });
      assert.equal(
        (JSON.parse(live.body.toString()) as { body: string }).body,
        small,
        'the live request has its body',
      );
      const big = 'y'.repeat(1001);
      const bigLive = await send(fx.publicPort, {
        agent,
        method: 'POST',
        path: '/echo',
        body: big,
      });
      assert.equal((JSON.parse(bigLive.body.toString()) as { body: string }).body, big);
      assert.equal(await sendChunked(fx.publicPort, agent, 'chunked body'), 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await green(fx);
      const mirrored = (after.mirrored ?? 0) - (before.mirrored ?? 0);
      const dropped = (after.mirrorDropped ?? 0) - (before.mirrorDropped ?? 0);
      if (fastPath) {
        // The fast path copies a Content-Length body as it forwards it.
        assert.equal(mirrored, 1);
        assert.equal(dropped, 2);
        const copy = recorder.copies[0];
        assert.ok(copy !== undefined);
        assert.equal(copy.method, 'POST');
        assert.equal(copy.body.toString(), small);
        assert.equal(copy.headers['content-length'], '600');
      } else {
        // node:http streams a body to the live request only: no body is copied there.
        assert.equal(mirrored, 0);
        assert.equal(dropped, 3);
      }
      assert.equal(recorder.copies.length, mirrored);
    });

    for (const mode of ['hang', 'reset'] as const) {
      it(`keeps live latency and errors unchanged when the mirror ${mode === 'hang' ? 'hangs' : 'resets'}`, async () => {
        const broken = await startBrokenMirror(mode);
        try {
          const timed = async (): Promise<number[]> => {
            const times: number[] = [];
            for (let i = 0; i < 150; i++) {
              const started = performance.now();
              const reply = await send(fx.publicPort, { agent });
              times.push(performance.now() - started);
              assert.equal(reply.status, 200);
              assert.equal(reply.body.toString(), 'blue');
            }
            return times;
          };
          await applyShop(fx, { green: [broken.address] });
          const baseline = await timed();
          await applyShop(fx, {
            mirror: { maxPerSecond: 100_000, maxBodyBytes: 1024 },
            green: [broken.address],
          });
          const before = await fx.router.describe();
          const mirrored = await timed();
          const after = await fx.router.describe();
          const blueBefore = before.apps.shop?.blue;
          const blueAfter = after.apps.shop?.blue;
          assert.ok(blueBefore !== undefined && blueAfter !== undefined);
          assert.equal(blueAfter.failed, blueBefore.failed, 'no live request failed');
          assert.equal(blueAfter.requests - blueBefore.requests, 150);
          const copies =
            (after.apps.shop?.green.mirrored ?? 0) - (before.apps.shop?.green.mirrored ?? 0);
          assert.ok(copies > 0, 'copies were sent');
          if (mode === 'hang') {
            // Hanging copies stay in flight; past the bound the rest are dropped, never queued.
            assert.ok(
              copies <= MIRROR_MAX_INFLIGHT * workers,
              `${copies} copies in flight at most`,
            );
            const dropped =
              (after.apps.shop?.green.mirrorDropped ?? 0) -
              (before.apps.shop?.green.mirrorDropped ?? 0);
            assert.equal(copies + dropped, 150);
            await waitFor('the hanging connections', () => broken.connections() > 0);
          }
          const base = median(baseline);
          const withMirror = median(mirrored);
          assert.ok(
            withMirror <= base * 2 + 5,
            `median ${withMirror.toFixed(2)} ms with the mirror, ${base.toFixed(2)} ms without`,
          );
          assert.ok(Math.max(...mirrored) < 1000, 'no live request waited on the mirror');
        } finally {
          await applyShop(fx, {});
          await broken.close();
        }
      });
    }
  });
}
