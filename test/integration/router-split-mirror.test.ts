// Mirroring in the built-in router (issue 5): copies of public requests to the idle color, with
// X-Cutover-Mirror: 1, bounded by a rate per worker and a body size; request bodies, whether
// Content-Length or chunked, are copied as they are forwarded on both the fast path and the
// node:http path; a hanging or resetting mirror never slows or fails the live response, and
// the live color receives the same bytes with or without a mirror. Real sockets throughout.
import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TrafficMirror } from '../../src/core/types.ts';
import type { ColorTraffic } from '../../src/ports/traffic-switch.ts';
import { ChunkedDecoder } from '../../src/router/http1/chunked-decoder.ts';
import { MIRROR_MAX_INFLIGHT } from '../../src/router/mirror-sender.ts';
import { appRoute, applyShop, send, startRouterFixture } from '../helpers/router-fixture.ts';
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
  readonly trailers: readonly string[];
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
        trailers: req.rawTrailers,
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

/** A chunked POST (no Content-Length) of `parts`, one chunk each, with optional trailers. */
function sendChunked(
  port: number,
  agent: Agent,
  parts: readonly (string | Buffer)[],
  options: { path?: string; host?: string; trailers?: Record<string, string> } = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: options.path ?? '/echo',
        agent,
        headers: {
          'transfer-encoding': 'chunked',
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.trailers === undefined
            ? {}
            : { trailer: Object.keys(options.trailers).join(', ') }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    for (const part of parts) req.write(part);
    if (options.trailers !== undefined) req.addTrailers(options.trailers);
    req.end();
  });
}

/** A POST that waits for 100 Continue before its body (the fast path hands it to node:http). */
function sendExpecting(
  port: number,
  agent: Agent,
  body: string,
  framing: 'length' | 'chunked',
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/echo?expect-${framing}`,
        agent,
        headers: {
          expect: '100-continue',
          ...(framing === 'chunked'
            ? { 'transfer-encoding': 'chunked' }
            : { 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.on('continue', () => {
      req.write(body.slice(0, 4));
      req.end(body.slice(4));
    });
  });
}

/** An HTTP/1.0 POST with a Content-Length body on a connection of its own; the whole reply. */
function sendHttp10(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.setTimeout(5000, () => socket.destroy(new Error('HTTP/1.0 reply timed out')));
    socket.write(
      `POST ${path} HTTP/1.0\r\nHost: shop.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
}

/** The body the echo route of the test upstream says it received. */
function echoedBody(reply: { body: Buffer }): string {
  return (JSON.parse(reply.body.toString()) as { body: string }).body;
}

/**
 * A live color that records the exact bytes of each request it receives (head and body, as
 * framed on the wire: Content-Length or chunked) and answers 200 `ok`.
 */
async function startRawRecorder(): Promise<Recorder & { readonly raw: Buffer[] }> {
  const raw: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const length = requestLength(pending);
      if (length === null) return;
      raw.push(pending.subarray(0, length));
      pending = pending.subarray(length);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    copies: [],
    raw,
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

/** The head of a recorded request and where its body starts. */
function splitHead(bytes: Buffer): { head: string; bodyStart: number } | null {
  const end = bytes.indexOf('\r\n\r\n');
  return end === -1
    ? null
    : { head: bytes.subarray(0, end + 4).toString('latin1'), bodyStart: end + 4 };
}

/** The length of the whole request at the start of `bytes`, or null while it is incomplete. */
function requestLength(bytes: Buffer): number | null {
  const split = splitHead(bytes);
  if (split === null) return null;
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(split.head);
  if (length !== null) {
    const total = split.bodyStart + Number(length[1]);
    return bytes.length >= total ? total : null;
  }
  if (!/\r\ntransfer-encoding: *chunked\r\n/i.test(split.head)) return split.bodyStart;
  const progress = new ChunkedDecoder().push(bytes.subarray(split.bodyStart));
  assert.equal(progress.error, undefined, 'the live color got a valid chunked body');
  return progress.done ? split.bodyStart + progress.consumed : null;
}

/**
 * The head of one recorded request without its framing fields, and its body as the app reads
 * it. undici frames a streamed body itself: chunked, or with a Content-Length when the whole
 * body had arrived before the connection was ready.
 */
function headAndBody(bytes: Buffer): { head: string; body: Buffer } {
  const split = splitHead(bytes);
  assert.ok(split !== null);
  const head = split.head.replace(/\r\n(content-length|transfer-encoding):[^\r]*/gi, '');
  const rest = bytes.subarray(split.bodyStart);
  if (!/\r\ntransfer-encoding: *chunked\r\n/i.test(split.head)) return { head, body: rest };
  const views: Buffer[] = [];
  const progress = new ChunkedDecoder().push(rest, views);
  assert.ok(progress.done && progress.error === undefined, 'a whole chunked body');
  return { head, body: Buffer.concat(views) };
}

/** Routes `shop` to `blue` (live) and `green` (idle) with an optional mirror on green. */
async function applyLive(
  fx: RouterFixture,
  blue: string,
  green: string,
  mirror: Omit<TrafficMirror, 'color'> | null,
): Promise<void> {
  const route = appRoute({ app: 'shop', live: 'blue', blue: [blue], green: [green] });
  const idle = route.idle;
  if (idle === null) throw new Error('no green upstream');
  fx.generation++;
  await fx.router.apply({
    generation: fx.generation,
    apps: [
      {
        ...route,
        split: null,
        mirror: mirror === null ? null : { ...mirror, color: 'green', target: idle },
      },
    ],
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
      // Without the mirror the router forgets the app's emptied bucket: the next test's copies
      // start from a full one, not from the few tokens this rate left.
      await applyShop(fx, {});
    });

    it('copies a body, Content-Length or chunked, exactly when it is within maxBodyBytes', async () => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1000 },
        green: [recorder.address],
      });
      const before = await green(fx);
      const small = 'x'.repeat(600);
      const live = await send(fx.publicPort, { agent, method: 'POST', path: '/echo', body: small });
      assert.equal(echoedBody(live), small, 'the live request has its body');
      const big = 'y'.repeat(1001);
      const bigLive = await send(fx.publicPort, {
        agent,
        method: 'POST',
        path: '/echo',
        body: big,
      });
      assert.equal(echoedBody(bigLive), big);
      await waitFor('the Content-Length copy', () => recorder.copies.length === 1);

      // Chunk data that looks like chunked framing, split oddly, with trailers: the copy gets
      // the data only, with a Content-Length and without the trailers.
      const parts = ['ab', '\r\n0\r\n\r\n', 'x'.repeat(300), '3\r\nabc\r\n', 'z'];
      const chunked = await sendChunked(fx.publicPort, agent, parts, {
        path: '/echo?chunked',
        trailers: { 'x-checksum': '42' },
      });
      assert.equal(chunked.status, 200);
      assert.equal(echoedBody(chunked), parts.join(''), 'the live request has its body');
      await waitFor('the chunked copy', () => recorder.copies.length === 2);
      const empty = await sendChunked(fx.publicPort, agent, [], { path: '/echo?empty' });
      assert.equal(echoedBody(empty), '');
      await waitFor('the empty chunked copy', () => recorder.copies.length === 3);
      // Over the bound in its fourth chunk: the live request is whole, the copy is dropped.
      const overParts = Array.from({ length: 8 }, (_, i) => String(i).repeat(300));
      const over = await sendChunked(fx.publicPort, agent, overParts, { path: '/echo?over' });
      assert.equal(echoedBody(over), overParts.join(''));
      await new Promise((resolve) => setTimeout(resolve, 100));

      const after = await green(fx);
      assert.equal((after.mirrored ?? 0) - (before.mirrored ?? 0), 3);
      assert.equal((after.mirrorDropped ?? 0) - (before.mirrorDropped ?? 0), 2);
      assert.equal(recorder.copies.length, 3);
      const byUrl = new Map(recorder.copies.map((copy) => [copy.url, copy]));
      const lengthCopy = byUrl.get('/echo');
      assert.ok(lengthCopy !== undefined);
      assert.equal(lengthCopy.method, 'POST');
      assert.equal(lengthCopy.body.toString(), small);
      assert.equal(lengthCopy.headers['content-length'], '600');
      const chunkedCopy = byUrl.get('/echo?chunked');
      assert.ok(chunkedCopy !== undefined, 'the chunked body was copied');
      assert.equal(chunkedCopy.method, 'POST');
      assert.equal(chunkedCopy.body.toString(), parts.join(''));
      assert.equal(chunkedCopy.headers['content-length'], String(parts.join('').length));
      assert.equal(chunkedCopy.headers['transfer-encoding'], undefined);
      assert.equal(chunkedCopy.headers.trailer, undefined);
      assert.deepEqual(chunkedCopy.trailers, [], 'trailers are not copied');
      assert.equal(chunkedCopy.headers['x-cutover-mirror'], '1');
      const emptyCopy = byUrl.get('/echo?empty');
      assert.ok(emptyCopy !== undefined);
      assert.equal(emptyCopy.body.length, 0);
      assert.equal(emptyCopy.headers['content-length'], '0');
    });

    it('copies a large binary chunked body byte for byte', async () => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1024 * 1024 },
        green: [recorder.address],
      });
      // Every byte value, in chunks of uneven sizes: 300 KiB in all.
      const bytes = Buffer.alloc(300 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
      const parts: Buffer[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = 1 + ((i * 7919) % 9000);
        parts.push(bytes.subarray(at, at + size));
        at += size;
      }
      // The echo route reads the whole body (an app that answers first ends the copy too).
      const reply = await sendChunked(fx.publicPort, agent, parts, { path: '/echo?binary' });
      assert.equal(reply.status, 200);
      await waitFor('the copy', () => recorder.copies.length === 1);
      const copy = recorder.copies[0];
      assert.ok(copy !== undefined);
      assert.equal(copy.body.length, bytes.length);
      assert.ok(copy.body.equals(bytes), 'the copy has the exact body');
    });

    it('copies the bodies of requests served through node:http (Expect, HTTP/1.0)', async (t) => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1000 },
        green: [recorder.address],
      });
      const before = await green(fx);
      // Its own connections: the fast path hands a connection with an Expect request to
      // node:http for good, and the shared agent's must stay on the fast path for later tests.
      const handedOff = new Agent({ keepAlive: true, maxSockets: 2 });
      t.after(() => handedOff.destroy());
      for (const framing of ['length', 'chunked'] as const) {
        const body = `body sent after 100 Continue, ${framing}`;
        const reply = await sendExpecting(fx.publicPort, handedOff, body, framing);
        assert.equal(reply.status, 200);
        assert.equal(echoedBody(reply), body, 'the live request has its body');
      }
      const http10 = await sendHttp10(fx.publicPort, '/echo?http10', 'an HTTP/1.0 body');
      assert.match(http10, /^HTTP\/1\.[01] 200 /);
      assert.match(http10, /"body":"an HTTP\/1\.0 body"/);
      const over = await sendExpecting(fx.publicPort, handedOff, 'z'.repeat(1001), 'chunked');
      assert.equal(echoedBody(over), 'z'.repeat(1001));
      await waitFor('3 copies', () => recorder.copies.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await green(fx);
      assert.equal((after.mirrored ?? 0) - (before.mirrored ?? 0), 3);
      assert.equal((after.mirrorDropped ?? 0) - (before.mirrorDropped ?? 0), 1);
      const byUrl = new Map(recorder.copies.map((copy) => [copy.url, copy]));
      for (const framing of ['length', 'chunked']) {
        const copy = byUrl.get(`/echo?expect-${framing}`);
        assert.ok(copy !== undefined, `the ${framing} body was copied`);
        assert.equal(copy.body.toString(), `body sent after 100 Continue, ${framing}`);
        assert.equal(copy.headers.expect, undefined, 'a copy never asks for 100 Continue');
        assert.equal(copy.headers['content-length'], String(copy.body.length));
      }
      assert.equal(byUrl.get('/echo?http10')?.body.toString(), 'an HTTP/1.0 body');
    });

    it('sends no copy whose body ends after the flip took the mirror away', async () => {
      recorder.copies.length = 0;
      await applyShop(fx, {
        mirror: { maxPerSecond: 1000, maxBodyBytes: 1000 },
        green: [recorder.address],
      });
      const before = await green(fx);
      const socket = connect({ host: '127.0.0.1', port: fx.publicPort });
      const received: Buffer[] = [];
      const closed = new Promise<string>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
      });
      try {
        // Half the body: the request went to blue, its copy waits for the rest.
        socket.write(
          'POST /echo?upload HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello',
        );
        await waitFor('the request on blue', async () => {
          const shop = (await fx.router.describe()).apps.shop;
          return shop !== undefined && shop.blue.inflight === 1;
        });
        // The flip: green is live and nothing is mirrored any more.
        const route = appRoute({
          app: 'shop',
          live: 'green',
          blue: [fx.blue.address],
          green: [recorder.address],
        });
        fx.generation++;
        await fx.router.apply({
          generation: fx.generation,
          apps: [{ ...route, split: null, mirror: null }],
        });
        socket.write('world');
        const reply = await closed;
        assert.match(reply, /^HTTP\/1\.1 200 /);
        assert.match(reply, /"body":"helloworld"/, 'the live request went on to blue, whole');
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(
          recorder.copies.map((copy) => copy.url),
          [],
          'no copy reached green once it was live',
        );
        const after = await green(fx);
        assert.equal(after.mirrored, before.mirrored);
        assert.equal((after.mirrorDropped ?? 0) - (before.mirrorDropped ?? 0), 1);
      } finally {
        socket.destroy();
        await applyShop(fx, {});
      }
    });

    it('sends the live color the same bytes with and without a mirror', async () => {
      const live = await startRawRecorder();
      try {
        const parts = ['first', 'x'.repeat(5000), '\r\n', 'y'.repeat(70_000), 'last'];
        const results: { head: string; body: Buffer; raw: Buffer }[] = [];
        for (const mirror of [null, { maxPerSecond: 1000, maxBodyBytes: 1024 * 1024 }]) {
          await applyLive(fx, live.address, recorder.address, mirror);
          recorder.copies.length = 0;
          for (let i = 0; i < 3; i++) {
            const reply = await sendChunked(fx.publicPort, agent, parts, { path: '/raw' });
            assert.equal(reply.status, 200);
            assert.equal(reply.body.toString(), 'ok');
          }
          await waitFor('the live requests', () => live.raw.length === results.length + 3);
          for (const raw of live.raw.slice(results.length)) {
            results.push({ ...headAndBody(raw), raw });
          }
          if (mirror !== null) await waitFor('3 copies', () => recorder.copies.length === 3);
          else assert.equal(recorder.copies.length, 0);
        }
        const first = results[0];
        assert.ok(first !== undefined);
        assert.equal(first.body.toString(), parts.join(''));
        for (const [i, result] of results.entries()) {
          assert.equal(result.head, first.head, `request ${i}: the same head`);
          assert.ok(result.body.equals(first.body), `request ${i}: the same body`);
          if (fastPath) {
            // The fast path forwards the client's chunks as they came, framing and all; undici
            // (the node:http path) frames the body by how it arrived, so only head and body
            // are compared there.
            assert.ok(result.raw.equals(first.raw), `request ${i}: the same bytes`);
          }
        }
        for (const copy of recorder.copies) assert.equal(copy.body.toString(), parts.join(''));
      } finally {
        await applyShop(fx, {});
        await live.close();
      }
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

    for (const mode of ['hang', 'reset'] as const) {
      it(`streams a large chunked body to the live color unchanged when the mirror ${mode === 'hang' ? 'hangs' : 'resets'}`, async () => {
        const broken = await startBrokenMirror(mode);
        // 256 KiB in 32 chunks: the copy collects it over many reads of the client's bytes.
        const parts = Array.from({ length: 32 }, (_, i) => Buffer.alloc(8 * 1024, 97 + (i % 26)));
        const expected = Buffer.concat(parts).toString();
        const total = 30;
        try {
          // Two apps on one router, `plain` without a mirror and `shop` with one, their
          // requests alternated: the machine's load falls on both alike.
          const shop = appRoute({
            app: 'shop',
            live: 'blue',
            blue: [fx.blue.address],
            green: [broken.address],
          });
          const plain = { ...shop, app: 'plain', hosts: ['plain.test'] };
          if (shop.idle === null) throw new Error('no green upstream');
          const mirror = { maxPerSecond: 100_000, maxBodyBytes: 1024 * 1024 };
          fx.generation++;
          await fx.router.apply({
            generation: fx.generation,
            apps: [
              { ...plain, split: null, mirror: null },
              { ...shop, split: null, mirror: { ...mirror, color: 'green', target: shop.idle } },
            ],
          });
          const before = await fx.router.describe();
          const timed = { plain: [] as number[], shop: [] as number[] };
          for (let i = 0; i < 2 * total; i++) {
            const app = i % 2 === 0 ? 'plain' : 'shop';
            const started = performance.now();
            const reply = await sendChunked(fx.publicPort, agent, parts, {
              host: app === 'plain' ? 'plain.test' : undefined,
            });
            timed[app].push(performance.now() - started);
            assert.equal(reply.status, 200);
            assert.ok(echoedBody(reply) === expected, 'the live color got the whole body');
          }
          const after = await fx.router.describe();
          for (const app of ['plain', 'shop']) {
            const blueBefore = before.apps[app]?.blue;
            const blueAfter = after.apps[app]?.blue;
            assert.ok(blueBefore !== undefined && blueAfter !== undefined);
            assert.equal(blueAfter.failed, blueBefore.failed, `no live request of ${app} failed`);
            assert.equal(blueAfter.requests - blueBefore.requests, total);
          }
          const copies =
            (after.apps.shop?.green.mirrored ?? 0) - (before.apps.shop?.green.mirrored ?? 0);
          const dropped =
            (after.apps.shop?.green.mirrorDropped ?? 0) -
            (before.apps.shop?.green.mirrorDropped ?? 0);
          assert.ok(copies > 0, 'copies of the body were sent');
          assert.equal(copies + dropped, total);
          assert.equal(
            after.apps.plain?.green.mirrored ?? 0,
            before.apps.plain?.green.mirrored ?? 0,
          );
          if (mode === 'hang') {
            assert.ok(copies <= MIRROR_MAX_INFLIGHT * workers, `${copies} copies in flight`);
            await waitFor('the hanging connections', () => broken.connections() > 0);
          }
          // Each mirrored request against the plain one before it (the median of pairs). The
          // copy costs work (its body is sent once more), and with one worker the router, both
          // apps and the client share this process: the bound is loose on that cost and tight
          // on waiting for the mirror, which would take seconds (its timeout is 10 s).
          const base = median(timed.plain);
          const extra = median(timed.shop.map((ms, i) => ms - (timed.plain[i] as number)));
          assert.ok(
            extra <= Math.max(5, 2 * base),
            `${extra.toFixed(2)} ms more with the mirror (median of pairs), ${base.toFixed(2)} ms without`,
          );
          assert.ok(Math.max(...timed.shop) < 1000, 'no live request waited on the mirror');
        } finally {
          await applyShop(fx, {});
          await broken.close();
        }
      });
    }
  });
}
