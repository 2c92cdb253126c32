// QUALITY.md battery C1-C16 against the real built-in router, over raw sockets. Every refused
// request is also checked on the app side: a raw upstream counts the bytes it receives, and a
// refused request must add zero.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createBuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import type { BuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import type { AppRoute, RoutingTable } from '../../src/core/routing-table.ts';
import { bytewise, headerValues, sendRaw, startRawUpstream } from '../helpers/raw-http.ts';
import type { RawReply, RawUpstream } from '../helpers/raw-http.ts';
import { startTestDaemon } from '../helpers/daemon.ts';
import { startUpstream } from '../helpers/upstream.ts';
import type { Upstream } from '../helpers/upstream.ts';

/**
 * The fuzz properties below run from a fixed seed, so CI gives the same verdict every time. To
 * explore, set CUTOVER_FUZZ_SEED to a number, or to `random` for a fresh seed each run; a
 * failure prints its seed and path for fast-check to replay.
 */
const FUZZ_SEED: { seed?: number } =
  process.env['CUTOVER_FUZZ_SEED'] === 'random'
    ? {}
    : { seed: Number(process.env['CUTOVER_FUZZ_SEED'] ?? 20261126) };

const LIMITS = {
  headersTimeoutMs: 800,
  requestTimeoutMs: 1500,
  keepAliveTimeoutMs: 500,
  maxHeaderBytes: 16_384,
  maxHeaderCount: 100,
};

/** Bytes the slow upstream offers to a client that never reads: far more than any buffer. */
const FLOOD_BYTES = 256 * 1024 * 1024;
/** What may sit in socket buffers and the router between the upstream and a stalled client. */
const BOUNDED_BYTES = 32 * 1024 * 1024;

/** RFC 6455 §1.3: the GUID the accept key is derived with. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Responses an app must never get past the router: ambiguous or malformed framing. */
const BAD_RESPONSES: Record<string, string> = {
  'dup-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
  'cl-te':
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'obs-fold': 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok',
  'bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  'bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  'nul-value': 'HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 2\r\n\r\nok',
  'space-colon': 'HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok',
};

/**
 * Response queue poisoning: an app that sends more than one response, or bytes past its body.
 * The router must never hand the extra bytes to the next request on a reused connection.
 */
const POISON_RESPONSES: Record<string, string> = {
  poison:
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' +
    'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Poison: 1\r\n\r\nevil',
  'poison-1xx': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 100 Continue\r\n\r\n',
  normal: 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnormal',
};

let router: BuiltinTrafficSwitch;
let baseTable: RoutingTable;
let port: number;
let raw: RawUpstream;
let hop: RawUpstream;
let fake: RawUpstream;
let ws101: RawUpstream;
let badResponses: RawUpstream;
let echo: Upstream;
let flood: { server: Server; address: string; written: () => number; close: () => Promise<void> };

function route(app: string, hosts: string[], address: string): AppRoute {
  return {
    app,
    hosts,
    live: { color: 'blue', release: 'v1', upstreams: [address] },
    idle: null,
  };
}

/** A plain upstream that streams FLOOD_BYTES, respecting backpressure, and counts what it wrote. */
async function startFloodUpstream(): Promise<typeof flood> {
  let written = 0;
  const sockets = new Set<Socket>();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${FLOOD_BYTES}\r\n\r\n`);
      const pump = (): void => {
        while (written < FLOOD_BYTES && !socket.destroyed) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('flood upstream did not bind');
  return {
    server,
    address: `127.0.0.1:${bound.port}`,
    written: () => written,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function statusOf(reply: RawReply): number | undefined {
  return reply.responses.find((response) => response.status >= 200)?.status;
}

/** Sends `request` and asserts a 4xx refusal, a closed connection, and zero bytes upstream. */
async function assertRefused(
  request: string | Buffer,
  statuses: readonly number[] = [400],
): Promise<RawReply> {
  const before = raw.bytesReceived;
  const reply = await sendRaw(port, request, { untilClose: true, timeoutMs: 3000 });
  assert.ok(
    statuses.includes(statusOf(reply) ?? 0),
    `expected ${statuses.join('/')}, got ${statusOf(reply)}: ${reply.bytes.toString('latin1').slice(0, 200)}`,
  );
  assert.equal(reply.closed, true, 'the router must close the connection after a refusal');
  // Give a forwarded byte time to arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(raw.bytesReceived - before, 0, 'the upstream received bytes of a refused request');
  return reply;
}

async function assertRouterAlive(): Promise<void> {
  const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n');
  assert.equal(statusOf(reply), 200, 'the router must still answer after a bad request');
}

async function echoed(request: string): Promise<{ headers: string[]; body: string; url: string }> {
  const reply = await sendRaw(port, request);
  const response = reply.responses.find((r) => r.status >= 200);
  assert.equal(response?.status, 200, reply.bytes.toString('latin1').slice(0, 300));
  return JSON.parse(response.body.toString('utf8')) as {
    headers: string[];
    body: string;
    url: string;
  };
}

// The whole battery runs against the in-thread router and against worker threads sharing the
// ports: each worker parses and guards on its own.
for (const workers of [1, 2]) {
  describe(`router with ${workers} worker thread(s)`, () => {
    before(async () => {
      raw = await startRawUpstream();
      hop = await startRawUpstream({
        reply: () =>
          'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: X-Hint\r\nX-Hint: 1\r\nKeep-Alive: timeout=77\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nConnection: X-Private, keep-alive\r\nX-Private: secret\r\nKeep-Alive: timeout=99\r\n' +
          'Proxy-Authenticate: Basic realm="x"\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n' +
          'X-Kept: yes\r\nContent-Length: 2\r\n\r\nok',
      });
      // Answers 200 (not 101) to everything, including an Upgrade: the router must not pipe.
      fake = await startRawUpstream();
      // A real WebSocket handshake answer, padded with fields that must not cross.
      ws101 = await startRawUpstream({
        reply: (head) => {
          const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
          const accept = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
          return (
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Secret\r\n' +
            `Sec-WebSocket-Accept: ${accept}\r\nX-Secret: hop\r\nKeep-Alive: timeout=99\r\n` +
            'Proxy-Authenticate: Basic\r\nX-Kept: yes\r\n\r\n'
          );
        },
      });
      echo = await startUpstream({ name: 'echo' });
      badResponses = await startRawUpstream({
        reply: (head) => {
          const path = /^GET \/(\S*)/.exec(head)?.[1] ?? '';
          return (
            POISON_RESPONSES[path] ??
            BAD_RESPONSES[path] ??
            'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'
          );
        },
      });
      flood = await startFloodUpstream();
      router = await createBuiltinTrafficSwitch({
        public: { host: '127.0.0.1', port: 0 },
        preview: { host: '127.0.0.1', port: 0 },
        limits: LIMITS,
        workers,
      });
      port = router.publicAddress.port;
      baseTable = {
        generation: 1,
        apps: [
          route('shop', ['shop.test'], raw.address),
          route('hop', ['hop.test'], hop.address),
          route('fake', ['fake.test'], fake.address),
          route('ws101', ['ws101.test'], ws101.address),
          route('echo', ['echo.test'], echo.address),
          route('flood', ['flood.test'], flood.address),
          route('bad', ['bad.test'], badResponses.address),
        ],
      };
      await router.apply(baseTable);
    });

    after(async () => {
      await router.close(2000);
      await Promise.all([
        raw.close(),
        hop.close(),
        fake.close(),
        ws101.close(),
        echo.close(),
        flood.close(),
        badResponses.close(),
      ]);
    });

    describe('C1-C4 request smuggling: 400, close, zero bytes upstream', () => {
      const head = 'POST / HTTP/1.1\r\nHost: shop.test\r\n';
      const vectors: [string, string][] = [
        ['CL + TE', `${head}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX`],
        ['TE + CL', `${head}Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX`],
        ['TE xchunked', `${head}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
        ['TE chunked, identity', `${head}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
        ['TE identity', `${head}Transfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nX`],
        [
          'TE twice',
          `${head}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        ],
        [
          'TE chunked then identity',
          `${head}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
        ],
        ['TE "chunked" quoted', `${head}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`],
        ['TE vertical tab', `${head}Transfer-Encoding: \u000bchunked\r\n\r\n0\r\n\r\n`],
        ['TE NBSP', `${head}Transfer-Encoding: chunked\u00a0\r\n\r\n0\r\n\r\n`],
        ['TE obs-fold', `${head}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`],
        ['TE space before colon', `${head}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
        [
          'TE on HTTP/1.0',
          `POST / HTTP/1.0\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        ],
        ['duplicate equal CL', `${head}Content-Length: 1\r\nContent-Length: 1\r\n\r\nX`],
        ['duplicate different CL', `${head}Content-Length: 1\r\nContent-Length: 2\r\n\r\nXY`],
        ['CL list', `${head}Content-Length: 1, 1\r\n\r\nX`],
        ['CL plus sign', `${head}Content-Length: +1\r\n\r\nX`],
        ['CL negative', `${head}Content-Length: -1\r\n\r\nX`],
        ['CL hex', `${head}Content-Length: 0x1\r\n\r\nX`],
        ['CL with inner space', `${head}Content-Length: 1 1\r\n\r\nX`],
        ['CL overflow', `${head}Content-Length: 99999999999999999999999\r\n\r\nX`],
        ['bare LF head', 'GET / HTTP/1.1\nHost: shop.test\n\n'],
        ['bare LF in one line', `GET / HTTP/1.1\r\nHost: shop.test\nX-A: 1\r\n\r\n`],
        ['bare CR in a value', `GET / HTTP/1.1\r\nHost: shop.test\r\nX-A: a\rb\r\n\r\n`],
        ['bad chunk size', `${head}Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n`],
        ['negative chunk size', `${head}Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n`],
        [
          'overflowing chunk size',
          `${head}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n`,
        ],
        [
          'chunk longer than its size',
          `${head}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`,
        ],
        ['chunk size with bare LF', `${head}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`],
        ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
        ['HTTP/0.9 style', 'GET /\r\n\r\n'],
        ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: shop.test\r\n\r\n'],
        ['CONNECT', 'CONNECT shop.test:443 HTTP/1.1\r\nHost: shop.test:443\r\n\r\n'],
        ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: shop.test\r\n\r\n'],
        ['double space in the request line', 'GET  / HTTP/1.1\r\nHost: shop.test\r\n\r\n'],
        ['tab in the request line', 'GET\t/ HTTP/1.1\r\nHost: shop.test\r\n\r\n'],
        ['lower-case version', 'GET / http/1.1\r\nHost: shop.test\r\n\r\n'],
        ['NUL in the target', 'GET /\u0000 HTTP/1.1\r\nHost: shop.test\r\n\r\n'],
        ['whitespace before the first field', 'GET / HTTP/1.1\r\n Host: shop.test\r\n\r\n'],
        ['fragment in the target', 'GET /a#b HTTP/1.1\r\nHost: shop.test\r\n\r\n'],
        ['chunk size with 0x', `${head}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`],
        [
          'chunk size with a plus',
          `${head}Transfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n`,
        ],
        [
          'chunk size then space',
          `${head}Transfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n`,
        ],
        [
          'bare CR in a chunk extension',
          `${head}Transfer-Encoding: chunked\r\n\r\n3;a\rb\r\nabc\r\n0\r\n\r\n`,
        ],
      ];
      for (const [label, request] of vectors) {
        it(label, async () => {
          await assertRefused(request, label === 'HTTP/1.2' ? [400, 505] : [400, 405]);
        });
      }

      it('a chunk-extension flood is refused without reaching the app', async () => {
        const extensions = ';a=b'.repeat(20_000);
        await assertRefused(
          `${head}Transfer-Encoding: chunked\r\n\r\n1${extensions}\r\nX\r\n0\r\n\r\n`,
          [400, 413],
        );
      });

      it('accepts a valid chunked body with OWS around the coding and reframes it', async () => {
        const result = await echoed(
          'POST /echo HTTP/1.1\r\nHost: echo.test\r\nTransfer-Encoding:\t chunked \r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
        );
        assert.equal(result.body, 'abcde');
      });

      it('a request pipelined behind a refused one is never forwarded', async () => {
        const before = raw.bytesReceived;
        const reply = await sendRaw(
          port,
          'POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: shop.test\r\n\r\n',
          { untilClose: true },
        );
        assert.equal(statusOf(reply), 400);
        assert.equal(reply.responses.filter((r) => r.status >= 200).length, 1);
        assert.equal(raw.bytesReceived - before, 0);
      });

      it('an upstream connection that carried a broken chunked body is closed, never reused', async () => {
        await sendRaw(port, 'GET /warm-broken HTTP/1.1\r\nHost: shop.test\r\n\r\n');
        const reply = await sendRaw(
          port,
          [
            'POST /broken-split HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
            'zz\r\nGET /smuggled-in-body HTTP/1.1\r\nHost: shop.test\r\n\r\n',
          ],
          { partDelayMs: 200, untilClose: true },
        );
        assert.equal(reply.closed, true);
        assert.ok(
          reply.responses.some((r) => r.status === 400),
          'the broken body got no 400',
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        await sendRaw(port, 'GET /after-broken HTTP/1.1\r\nHost: shop.test\r\n\r\n');
        await new Promise((resolve) => setTimeout(resolve, 50));
        const broken = raw.received.findIndex((text) => text.includes('/broken-split'));
        const after = raw.received.findIndex((text) => text.includes('/after-broken'));
        assert.ok(broken >= 0 && after >= 0);
        assert.notEqual(after, broken, 'the next request reused the connection of a broken body');
        assert.doesNotMatch(raw.received.join(''), /zz|smuggled-in-body/);
      });

      it('a body cut short by the client leaves no upstream connection to reuse', async () => {
        await sendRaw(
          port,
          'POST /short-body HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 50\r\n\r\n0123456789',
          { timeoutMs: 300 },
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        await sendRaw(port, 'GET /after-short HTTP/1.1\r\nHost: shop.test\r\n\r\n');
        await new Promise((resolve) => setTimeout(resolve, 50));
        const short = raw.received.findIndex((text) => text.includes('/short-body'));
        const after = raw.received.findIndex((text) => text.includes('/after-short'));
        assert.ok(after >= 0);
        assert.notEqual(after, short, 'the next request rode on the connection of a cut body');
      });

      it('TRACE with content is refused', async () => {
        await assertRefused('TRACE / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1\r\n\r\nX');
      });

      it('the preview listener applies the same guard', async () => {
        const preview = router.previewAddress.port;
        for (const request of [
          `${head}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX`,
          `${head}Content-Length: 1\r\nContent-Length: 1\r\n\r\nX`,
          'GET / HTTP/1.1\r\n\r\n',
          'GET / HTTP/1.1\nHost: shop.test\n\n',
        ]) {
          const reply = await sendRaw(preview, request, { untilClose: true });
          assert.equal(statusOf(reply), 400, JSON.stringify(request));
          assert.equal(reply.closed, true);
        }
      });

      it('the router still answers after every vector', assertRouterAlive);
    });

    describe('C5 malformed headers: 400 or handled, never a crash', () => {
      for (const [label, line] of [
        ['obs-fold', 'X-A: a\r\n b'],
        ['space before colon', 'X-A : b'],
        ['NUL in a value', 'X-A: a\u0000b'],
        ['non-token name', 'X(A): b'],
        ['empty name', ': b'],
        ['no colon', 'X-A b'],
      ] as const) {
        it(`refuses ${label}`, async () => {
          await assertRefused(`GET / HTTP/1.1\r\nHost: shop.test\r\n${line}\r\n\r\n`);
        });
      }

      it('forwards __proto__, constructor and prototype as ordinary headers', async () => {
        const result = await echoed(
          'GET /echo HTTP/1.1\r\nHost: echo.test\r\n__proto__: {"polluted":1}\r\nconstructor: x\r\nprototype: y\r\n\r\n',
        );
        assert.deepEqual(headerValues(result.headers, '__proto__'), ['{"polluted":1}']);
        assert.deepEqual(headerValues(result.headers, 'constructor'), ['x']);
        assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      });

      it('the router still answers', assertRouterAlive);
    });

    describe('C8 hop-by-hop headers never cross, either way, 1xx included', () => {
      it('strips hop-by-hop and Connection-named fields from the request', async () => {
        const result = await echoed(
          'GET /echo HTTP/1.1\r\nHost: echo.test\r\nConnection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\n' +
            'X-Secret: hop\r\nTE: trailers\r\nTrailer: X-T\r\nProxy-Connection: keep-alive\r\n' +
            'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nUpgrade: foo/1\r\nX-End: kept\r\n\r\n',
        );
        for (const name of [
          'x-secret',
          'keep-alive',
          'te',
          'trailer',
          'proxy-connection',
          'proxy-authorization',
          'upgrade',
        ]) {
          assert.deepEqual(headerValues(result.headers, name), [], `${name} reached the app`);
        }
        // The router may open its own keep-alive connection upstream, never with the client's options.
        for (const value of headerValues(result.headers, 'connection')) {
          assert.doesNotMatch(value, /x-secret|upgrade/i);
        }
        assert.deepEqual(headerValues(result.headers, 'x-end'), ['kept']);
      });

      it('strips them from the response and from a 1xx response', async () => {
        const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: hop.test\r\n\r\n');
        const final = reply.responses.find((r) => r.status >= 200);
        assert.equal(final?.status, 200, reply.bytes.toString('latin1'));
        for (const response of reply.responses) {
          for (const name of [
            'x-private',
            'x-hint',
            'proxy-authenticate',
            'trailer',
            'upgrade',
            'proxy-connection',
          ]) {
            assert.deepEqual(
              headerValues(response.rawHeaders, name),
              [],
              `${name} crossed in a ${response.status}`,
            );
          }
          for (const value of headerValues(response.rawHeaders, 'keep-alive')) {
            assert.doesNotMatch(
              value,
              /77|99/,
              `the app's Keep-Alive crossed in a ${response.status}`,
            );
          }
          for (const value of headerValues(response.rawHeaders, 'connection')) {
            assert.doesNotMatch(value, /x-private|x-hint/i);
          }
        }
        assert.deepEqual(headerValues(final.rawHeaders, 'x-kept'), ['yes']);
        assert.equal(final.body.toString(), 'ok');
      });
    });

    describe('C8 on a WebSocket handshake', () => {
      it('strips hop-by-hop fields from a 101 but keeps the handshake', async () => {
        const reply = await sendRaw(
          port,
          'GET /chat HTTP/1.1\r\nHost: ws101.test\r\nConnection: Upgrade, X-Client-Secret\r\nUpgrade: websocket\r\n' +
            'X-Client-Secret: hop\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
          { timeoutMs: 1500 },
        );
        const switched = reply.responses.find((r) => r.status === 101);
        assert.ok(
          switched,
          `no 101: ${JSON.stringify(reply.bytes.toString('latin1').slice(0, 200))}`,
        );
        for (const name of ['x-secret', 'keep-alive', 'proxy-authenticate']) {
          assert.deepEqual(
            headerValues(switched.rawHeaders, name),
            [],
            `${name} crossed in the 101`,
          );
        }
        assert.match(headerValues(switched.rawHeaders, 'upgrade').join(), /websocket/i);
        assert.match(headerValues(switched.rawHeaders, 'connection').join(), /upgrade/i);
        assert.doesNotMatch(headerValues(switched.rawHeaders, 'connection').join(), /x-secret/i);
        assert.equal(
          headerValues(switched.rawHeaders, 'sec-websocket-accept')[0],
          's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
          'the client must get the accept key for its own Sec-WebSocket-Key',
        );
        assert.doesNotMatch(
          ws101.received.join(''),
          /X-Client-Secret/i,
          'a Connection-named field reached the app',
        );
      });
    });

    describe('C9 forwarding headers from an untrusted peer are replaced', () => {
      it('replaces X-Forwarded-*, X-Real-IP and Forwarded', async () => {
        const result = await echoed(
          'GET /echo HTTP/1.1\r\nHost: echo.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7\r\n' +
            'X-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.internal\r\nX-Real-IP: 6.6.6.6\r\n' +
            'Forwarded: for=6.6.6.6;proto=https\r\nX_Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\n\r\n',
        );
        assert.deepEqual(headerValues(result.headers, 'x-forwarded-for'), ['127.0.0.1']);
        assert.deepEqual(headerValues(result.headers, 'x-forwarded-proto'), ['http']);
        assert.deepEqual(headerValues(result.headers, 'x-forwarded-host'), ['echo.test']);
        assert.deepEqual(headerValues(result.headers, 'x-real-ip'), ['127.0.0.1']);
        assert.deepEqual(headerValues(result.headers, 'forwarded'), [
          'for=127.0.0.1;proto=http;host=echo.test',
        ]);
        assert.deepEqual(headerValues(result.headers, 'x_forwarded_for'), []);
        assert.deepEqual(headerValues(result.headers, 'x_real_ip'), []);
      });
    });

    describe('C9 forwarding headers from a trusted proxy are appended to', () => {
      it("appends the peer to X-Forwarded-For and Forwarded and keeps the proxy's proto and host", async () => {
        const trusting = await createBuiltinTrafficSwitch({
          public: { host: '127.0.0.1', port: 0 },
          preview: { host: '127.0.0.1', port: 0 },
          trustedProxies: ['127.0.0.0/8'],
          limits: LIMITS,
          workers,
        });
        try {
          await trusting.apply({
            generation: 1,
            apps: [route('echo', ['echo.test'], echo.address)],
          });
          const reply = await sendRaw(
            trusting.publicAddress.port,
            'GET /echo HTTP/1.1\r\nHost: echo.test\r\nX-Forwarded-For: 198.51.100.1\r\nX-Forwarded-Proto: https\r\n' +
              'X-Forwarded-Host: shop.example\r\nForwarded: for=198.51.100.1;proto=https\r\n\r\n',
          );
          const response = reply.responses.find((r) => r.status >= 200);
          assert.equal(response?.status, 200);
          const { headers } = JSON.parse(response.body.toString()) as { headers: string[] };
          assert.deepEqual(headerValues(headers, 'x-forwarded-for'), ['198.51.100.1, 127.0.0.1']);
          assert.deepEqual(headerValues(headers, 'x-forwarded-proto'), ['https']);
          assert.deepEqual(headerValues(headers, 'x-forwarded-host'), ['shop.example']);
          assert.deepEqual(headerValues(headers, 'forwarded'), [
            'for=198.51.100.1;proto=https, for=127.0.0.1;proto=http;host=echo.test',
          ]);
        } finally {
          await trusting.close(1000);
        }
      });
    });

    describe('C10 Host: missing, duplicate, invalid 400; unknown 421; no admin API', () => {
      for (const [label, request] of [
        ['missing Host', 'GET / HTTP/1.1\r\n\r\n'],
        ['duplicate Host', 'GET / HTTP/1.1\r\nHost: shop.test\r\nHost: shop.test\r\n\r\n'],
        ['two different Hosts', 'GET / HTTP/1.1\r\nHost: shop.test\r\nHost: other.test\r\n\r\n'],
        ['empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n'],
        ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@shop.test\r\n\r\n'],
        ['Host with a space', 'GET / HTTP/1.1\r\nHost: shop .test\r\n\r\n'],
        ['Host with a bad port', 'GET / HTTP/1.1\r\nHost: shop.test:99999\r\n\r\n'],
        [
          'absolute-form disagreeing with Host',
          'GET http://other.test/ HTTP/1.1\r\nHost: shop.test\r\n\r\n',
        ],
        ['HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n'],
      ] as const) {
        it(`refuses ${label}`, async () => {
          await assertRefused(request);
        });
      }

      it('routes an absolute-form target that agrees with Host, as origin-form', async () => {
        const result = await echoed(
          'GET http://echo.test/echo?x=1 HTTP/1.1\r\nHost: echo.test\r\n\r\n',
        );
        assert.equal(result.url, '/echo?x=1');
      });

      it('routes Host case-insensitively, with a port and a trailing dot', async () => {
        const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: SHOP.Test.:8080\r\n\r\n');
        assert.equal(statusOf(reply), 200);
      });

      it('answers 421 for an unknown Host on both listeners and never picks a default app', async () => {
        const before = raw.bytesReceived + hop.bytesReceived + fake.bytesReceived;
        const echoBefore = echo.requests;
        for (const listenerPort of [port, router.previewAddress.port]) {
          for (const host of [
            'other.test',
            'localhost',
            '127.0.0.1',
            `127.0.0.1:${listenerPort}`,
            'shop.test.evil',
          ]) {
            const reply = await sendRaw(listenerPort, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
            assert.equal(statusOf(reply), 421, `Host ${host} on port ${listenerPort}`);
          }
        }
        assert.equal(raw.bytesReceived + hop.bytesReceived + fake.bytesReceived - before, 0);
        assert.equal(echo.requests, echoBefore);
      });

      it('never serves the admin API: /v1 goes to the app or gets 421', async () => {
        for (const host of ['localhost', '127.0.0.1', 'cutover', 'admin']) {
          const reply = await sendRaw(port, `GET /v1/status HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
          assert.equal(statusOf(reply), 421, `Host ${host}`);
          assert.doesNotMatch(reply.bytes.toString('latin1'), /"apps"|"revision"/);
        }
        const reply = await sendRaw(port, 'GET /v1/status HTTP/1.1\r\nHost: shop.test\r\n\r\n');
        const response = reply.responses.find((r) => r.status >= 200);
        assert.deepEqual(headerValues(response?.rawHeaders ?? [], 'x-upstream'), ['raw']);
      });
    });

    describe('C11-C13 slow and greedy clients, oversized heads', () => {
      it('closes a slowloris client (1 byte / 100 ms) at the headers timeout', async () => {
        const started = Date.now();
        const reply = await sendRaw(
          port,
          bytewise('GET / HTTP/1.1\r\nHost: shop.test\r\nX-Slow: ' + 'a'.repeat(60)),
          {
            partDelayMs: 100,
            untilClose: true,
            timeoutMs: LIMITS.headersTimeoutMs + 3000,
          },
        );
        assert.equal(reply.closed, true, 'the slow connection was not closed');
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= LIMITS.headersTimeoutMs - 100, `closed too early (${elapsed} ms)`);
        assert.ok(elapsed < LIMITS.headersTimeoutMs + 2000, `closed too late (${elapsed} ms)`);
        const status = statusOf(reply);
        assert.ok(status === undefined || status === 408, `unexpected status ${status}`);
      });

      it('closes a slow body at the request timeout', async () => {
        const before = raw.bytesReceived;
        const reply = await sendRaw(
          port,
          [
            'POST / HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 100\r\n\r\n',
            ...bytewise('x'.repeat(100)),
          ],
          { partDelayMs: 100, untilClose: true, timeoutMs: LIMITS.requestTimeoutMs + 3000 },
        );
        assert.equal(reply.closed, true, 'the slow body was not cut');
        assert.ok(
          reply.elapsedMs < LIMITS.requestTimeoutMs + 2000,
          `closed after ${reply.elapsedMs} ms`,
        );
        assert.equal(raw.bytesReceived - before, 0);
      });

      it('keeps memory bounded for an upload to an app that never reads', async () => {
        // The app reads the head (so the router has a connection) and then stops reading.
        let appReceived = 0;
        const stalled = new Set<Socket>();
        const app = createServer((socket) => {
          stalled.add(socket);
          socket.on('error', () => socket.destroy());
          socket.on('data', (chunk: Buffer) => {
            appReceived += chunk.length;
            socket.pause();
          });
        });
        await new Promise<void>((resolve) => app.listen({ host: '127.0.0.1', port: 0 }, resolve));
        const bound = app.address();
        if (bound === null || typeof bound === 'string')
          throw new Error('stalled app did not bind');
        await router.apply({
          generation: 2,
          apps: [...baseTable.apps, route('stalled', ['stalled.test'], `127.0.0.1:${bound.port}`)],
        });
        const socket: Socket = connect({ host: '127.0.0.1', port });
        let written = 0;
        let closedEarly = false;
        let closedByRouter: boolean;
        try {
          await new Promise<void>((resolve) => socket.once('connect', resolve));
          socket.on('error', () => undefined);
          socket.on('close', () => {
            closedEarly = true;
          });
          socket.write(
            `POST /upload HTTP/1.1\r\nHost: stalled.test\r\nContent-Length: ${FLOOD_BYTES}\r\n\r\n`,
          );
          const chunk = Buffer.alloc(64 * 1024, 0x62);
          const deadline = Date.now() + 1500;
          while (Date.now() < deadline && written < FLOOD_BYTES && !socket.destroyed) {
            if (socket.write(chunk)) {
              written += chunk.length;
              continue;
            }
            written += chunk.length;
            const drained = await Promise.race([
              new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
              new Promise<boolean>((resolve) =>
                setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())),
              ),
            ]);
            if (!drained) break;
          }
        } finally {
          closedByRouter = closedEarly;
          socket.destroy();
          for (const open of stalled) open.destroy();
          await new Promise<void>((resolve) => app.close(() => resolve()));
          await router.apply({ generation: 3, apps: baseTable.apps });
        }
        assert.ok(appReceived > 0, 'the upload never reached the app');
        // Backpressure, not a hang-up, is what stopped the upload.
        assert.equal(closedByRouter, false, 'the router closed the upload instead of pausing it');
        assert.ok(
          written < BOUNDED_BYTES,
          `the router buffered ${written} bytes of an upload the app does not read`,
        );
      });

      it('keeps memory bounded for a client that never reads', async () => {
        const socket: Socket = connect({ host: '127.0.0.1', port });
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.pause();
        socket.write('GET /big HTTP/1.1\r\nHost: flood.test\r\n\r\n');
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const written = flood.written();
        socket.destroy();
        assert.ok(written > 0, 'the flood upstream was never reached');
        assert.ok(
          written < BOUNDED_BYTES,
          `the router buffered ${written} bytes for a client that reads nothing`,
        );
      });

      it('answers 431 to one oversized header, not a truncated forward', async () => {
        await assertRefused(
          `GET / HTTP/1.1\r\nHost: shop.test\r\nX-Big: ${'a'.repeat(LIMITS.maxHeaderBytes + 10)}\r\n\r\n`,
          [431],
        );
      });

      it('answers 431 to too many headers, not a truncated forward', async () => {
        const many = Array.from(
          { length: LIMITS.maxHeaderCount + 20 },
          (_, i) => `X-H${i}: v\r\n`,
        ).join('');
        await assertRefused(`GET / HTTP/1.1\r\nHost: shop.test\r\n${many}\r\n`, [431]);
      });

      it('forwards a head with exactly the header limit', async () => {
        const many = Array.from(
          { length: LIMITS.maxHeaderCount - 1 },
          (_, i) => `X-H${i}: v\r\n`,
        ).join('');
        const reply = await sendRaw(port, `GET / HTTP/1.1\r\nHost: shop.test\r\n${many}\r\n`);
        assert.equal(statusOf(reply), 200);
      });

      it('the router still answers', assertRouterAlive);
    });

    describe('strict framing of upstream responses', () => {
      for (const path of Object.keys(BAD_RESPONSES)) {
        it(`an app response with ${path} never reaches the client as sent`, async () => {
          const reply = await sendRaw(port, `GET /${path} HTTP/1.1\r\nHost: bad.test\r\n\r\n`, {
            timeoutMs: 3000,
          });
          const status = statusOf(reply);
          const text = reply.bytes.toString('latin1');
          if (status === 200) {
            // Only acceptable when the router re-framed a clean message: one length, no fold, no NUL.
            assert.equal(reply.parseError, null);
            assert.ok(!text.includes('\u0000') && !text.includes('X-A :'), JSON.stringify(text));
            assert.doesNotMatch(text, /\r\n[ \t]/);
            assert.ok(!/content-length/i.test(text) || !/transfer-encoding/i.test(text));
            assert.ok((text.match(/content-length/gi) ?? []).length <= 1);
            assert.doesNotMatch(text, /zz/);
          } else if (status === undefined) {
            // Nothing usable was relayed: the connection must be closed, not left hanging.
            assert.equal(reply.closed, true, `no answer and no close: ${JSON.stringify(text)}`);
            assert.doesNotMatch(text, /zz/);
          } else {
            assert.equal(
              status,
              502,
              `expected 502, got ${status}: ${JSON.stringify(text.slice(0, 200))}`,
            );
          }
        });
      }

      for (const poison of ['poison', 'poison-1xx']) {
        it(`never gives the extra bytes of /${poison} to the next request (response queue poisoning)`, async () => {
          const first = await sendRaw(port, `GET /${poison} HTTP/1.1\r\nHost: bad.test\r\n\r\n`);
          assert.equal(statusOf(first), 200);
          assert.equal(first.responses.find((r) => r.status === 200)?.body.toString(), 'ok');
          const connectionsBefore = badResponses.connections;
          for (let i = 0; i < 5; i++) {
            const next = await sendRaw(port, 'GET /normal HTTP/1.1\r\nHost: bad.test\r\n\r\n');
            const response = next.responses.find((r) => r.status >= 200);
            assert.equal(response?.status, 200, next.bytes.toString('latin1'));
            assert.equal(
              response.body.toString(),
              'normal',
              'another request got the poisoned bytes',
            );
            assert.deepEqual(headerValues(response.rawHeaders, 'x-poison'), []);
            assert.ok(
              next.responses.every((r) => r.status !== 100),
              'an unsolicited 100 crossed',
            );
          }
          // The pool does reuse connections, so a poisoned one would have been picked up.
          assert.ok(
            badResponses.connections - connectionsBefore < 5,
            'no upstream connection was reused',
          );
        });
      }

      it('the router still answers', assertRouterAlive);
    });

    describe('C11 timeouts on keep-alive connections', () => {
      it('closes an idle keep-alive connection at the keep-alive timeout', async () => {
        const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n', {
          untilClose: true,
          timeoutMs: LIMITS.keepAliveTimeoutMs + 3000,
        });
        assert.equal(statusOf(reply), 200);
        assert.equal(reply.closed, true, 'an idle keep-alive connection stayed open');
        assert.ok(
          reply.elapsedMs < LIMITS.keepAliveTimeoutMs + 2000,
          `closed after ${reply.elapsedMs} ms`,
        );
      });

      it('applies the headers timeout to a second, slow request on a kept-alive connection', async () => {
        const reply = await sendRaw(
          port,
          [
            'GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n',
            ...bytewise('GET / HTTP/1.1\r\nHost: shop.test\r\nX-Slow: ' + 'a'.repeat(60)),
          ],
          {
            partDelayMs: 100,
            untilClose: true,
            timeoutMs: LIMITS.headersTimeoutMs + LIMITS.keepAliveTimeoutMs + 3000,
          },
        );
        assert.equal(reply.responses.filter((r) => r.status === 200).length, 1);
        assert.equal(reply.closed, true, 'the slow second head was never cut');
        assert.ok(
          reply.elapsedMs < LIMITS.headersTimeoutMs + LIMITS.keepAliveTimeoutMs + 2000,
          `closed after ${reply.elapsedMs} ms`,
        );
      });

      it('closes 40 concurrent slowloris connections and keeps serving meanwhile', async () => {
        const slow = Array.from({ length: 40 }, () =>
          sendRaw(
            port,
            bytewise('GET / HTTP/1.1\r\nHost: shop.test\r\nX-Slow: ' + 'a'.repeat(40)),
            {
              partDelayMs: 100,
              untilClose: true,
              timeoutMs: LIMITS.headersTimeoutMs + 3000,
            },
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        await assertRouterAlive();
        const replies = await Promise.all(slow);
        assert.ok(
          replies.every((reply) => reply.closed),
          'a slowloris connection stayed open',
        );
      });

      it('answers 431 or 414 to an oversized request line, reaching no app', async () => {
        await assertRefused(
          `GET /${'a'.repeat(LIMITS.maxHeaderBytes + 10)} HTTP/1.1\r\nHost: shop.test\r\n\r\n`,
          [414, 431],
        );
      });
    });

    describe('C14 HTTP/1.0', () => {
      it('closes after the response unless keep-alive was asked for', async () => {
        const reply = await sendRaw(port, 'GET / HTTP/1.0\r\nHost: shop.test\r\n\r\n', {
          untilClose: true,
        });
        assert.equal(statusOf(reply), 200);
        assert.equal(reply.closed, true);
      });

      it('never sends a chunked response to an HTTP/1.0 client', async () => {
        const reply = await sendRaw(port, 'GET /bytes?n=5000 HTTP/1.0\r\nHost: echo.test\r\n\r\n', {
          untilClose: true,
        });
        const response = reply.responses.find((r) => r.status >= 200);
        assert.equal(response?.status, 200);
        assert.deepEqual(headerValues(response.rawHeaders, 'transfer-encoding'), []);
        assert.equal(response.body.length, 5000);
        assert.ok(
          response.body.every((byte, i) => byte === i % 251),
          'the body was altered',
        );
      });

      it('keeps the connection open when asked with Connection: keep-alive', async () => {
        const request = 'GET / HTTP/1.0\r\nHost: shop.test\r\nConnection: keep-alive\r\n\r\n';
        const reply = await sendRaw(port, request + request, { finalResponses: 2 });
        assert.deepEqual(
          reply.responses.map((r) => r.status),
          [200, 200],
        );
        assert.match(
          headerValues(reply.responses[0]?.rawHeaders ?? [], 'connection').join(),
          /keep-alive/i,
        );
      });
    });

    describe('pipelining', () => {
      it('answers pipelined requests in order on one connection', async () => {
        const reply = await sendRaw(
          port,
          'GET /echo?n=1 HTTP/1.1\r\nHost: echo.test\r\n\r\n' +
            'POST /echo?n=2 HTTP/1.1\r\nHost: echo.test\r\nContent-Length: 3\r\n\r\nabc' +
            'GET /echo?n=3 HTTP/1.1\r\nHost: echo.test\r\n\r\n',
          { finalResponses: 3 },
        );
        const bodies = reply.responses.map(
          (r) => JSON.parse(r.body.toString()) as { url: string; body: string },
        );
        assert.deepEqual(
          bodies.map((b) => [b.url, b.body]),
          [
            ['/echo?n=1', ''],
            ['/echo?n=2', 'abc'],
            ['/echo?n=3', ''],
          ],
        );
      });
    });

    describe('C15 Expect: 100-continue', () => {
      it('answers 100 Continue before the body, then forwards the body', async () => {
        const socket: Socket = connect({ host: '127.0.0.1', port });
        const received: Buffer[] = [];
        const got = (pattern: RegExp): Promise<void> =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`timed out waiting for ${pattern}`)),
              3000,
            );
            const check = (): void => {
              if (pattern.test(Buffer.concat(received).toString('latin1'))) {
                clearTimeout(timer);
                socket.off('data', check);
                resolve();
              }
            };
            socket.on('data', (chunk: Buffer) => {
              received.push(chunk);
              check();
            });
          });
        try {
          await new Promise<void>((resolve) => socket.once('connect', resolve));
          const continued = got(/^HTTP\/1\.1 100 /);
          socket.write(
            'POST /echo HTTP/1.1\r\nHost: echo.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
          );
          await continued;
          const done = got(/"body":"hello"/);
          socket.write('hello');
          await done;
          assert.match(Buffer.concat(received).toString('latin1'), /HTTP\/1\.1 200 /);
        } finally {
          socket.destroy();
        }
      });

      it('answers 417 to an unknown expectation', async () => {
        const reply = await sendRaw(
          port,
          'POST / HTTP/1.1\r\nHost: shop.test\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nX',
        );
        assert.equal(statusOf(reply), 417);
      });
    });

    describe('C16 Upgrade only on a real 101; h2c refused', () => {
      it('pipes nothing when the app answers 200 to a WebSocket upgrade', async () => {
        const reply = await sendRaw(
          port,
          [
            'GET / HTTP/1.1\r\nHost: fake.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
            'GET /internal HTTP/1.1\r\nHost: hidden.test\r\n\r\n',
          ],
          { partDelayMs: 300, untilClose: true, timeoutMs: 1500 },
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        const upstreamSaw = fake.received.join('');
        assert.doesNotMatch(
          upstreamSaw,
          /hidden\.test/,
          'bytes after a non-101 answer were piped to the app',
        );
        assert.ok(
          reply.responses.every((r) => r.status !== 101),
          'the client saw a 101',
        );
        assert.equal(
          reply.parseError,
          null,
          `malformed reply: ${JSON.stringify(reply.bytes.toString('latin1'))}`,
        );
        const finals = reply.responses.filter((r) => r.status >= 200);
        assert.equal(finals[0]?.status, 200, "the app's answer to the upgrade was not relayed");
        assert.equal(finals[0]?.body.toString(), 'ok', "the app's answer lost its body");
        // The follow-up request is either refused as an unknown host or never read (connection closed).
        assert.ok(
          finals.length === 1 || finals[1]?.status === 421,
          `second answer ${finals[1]?.status}`,
        );
      });

      it('strips an h2c upgrade and HTTP2-Settings, and never answers 101', async () => {
        const before = fake.received.join('').length;
        const reply = await sendRaw(
          port,
          'GET / HTTP/1.1\r\nHost: fake.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
            'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
        );
        assert.equal(statusOf(reply), 200);
        assert.ok(reply.responses.every((r) => r.status !== 101));
        const forwarded = fake.received.join('').slice(before);
        assert.match(forwarded, /^GET \/ HTTP\/1\.1\r\n/);
        assert.doesNotMatch(forwarded, /h2c|http2-settings/i);
      });
    });
  });
}

describe('C10 the real daemon never serves its admin API on a data-plane listener', () => {
  it('answers /v1 and /metrics on the admin socket only', async () => {
    const daemon = await startTestDaemon();
    try {
      const status = await daemon.admin('GET', '/v1/status');
      assert.equal(status.status, 200, 'the admin socket itself must answer');
      for (const listenerPort of [daemon.info.public.port, daemon.info.preview.port]) {
        for (const path of ['/v1/status', '/v1/health', '/metrics', '/v1/apps/x/flip']) {
          for (const host of [
            'localhost',
            '127.0.0.1',
            `127.0.0.1:${listenerPort}`,
            'cutover',
            '[::1]',
          ]) {
            const method = path.endsWith('/flip') ? 'POST' : 'GET';
            const reply = await sendRaw(
              listenerPort,
              `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
            );
            const code = statusOf(reply);
            assert.ok(code === 421 || code === 503, `${method} ${path} Host ${host}: ${code}`);
            assert.doesNotMatch(
              reply.bytes.toString('latin1'),
              /"revision"|"apps"|# HELP|cutover_/,
            );
          }
        }
      }
    } finally {
      await daemon.stop();
    }
  });
});

describe('fuzz: mutated requests never desynchronize the router and the app', () => {
  /** A strict node:http app that records what it parsed and every parse error it hit. */
  async function startStrictApp(): Promise<{
    port: number;
    urls: string[];
    completed: string[];
    parseErrors: string[];
    violations: string[];
    close: () => Promise<void>;
  }> {
    const { createServer: createHttpServer } = await import('node:http');
    const urls: string[] = [];
    const completed: string[] = [];
    const parseErrors: string[] = [];
    const violations: string[] = [];
    const server = createHttpServer((req, res) => {
      urls.push(req.url ?? '');
      const names = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      if (names.filter((n) => n === 'host').length !== 1) violations.push(`hosts: ${names.join()}`);
      // Fields a client's mutated Connection header may rename are checked in C8, not here.
      for (const name of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection']) {
        if (names.includes(name)) violations.push(`${name} reached the app`);
      }
      req.resume();
      req.on('end', () => {
        completed.push(req.url ?? '');
        res.setHeader('x-upstream', 'fuzz');
        res.end(`url=${req.url ?? ''}`);
      });
    });
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
      // A body cut short by the router closing the connection is not a framing disagreement,
      // and neither is a method node does not know: any token is a valid method (RFC 9110
      // §9.1), so the router forwards it and the app refuses it.
      const benign = ['ECONNRESET', 'HPE_INVALID_EOF_STATE', 'HPE_INVALID_METHOD'];
      if (!benign.includes(error.code ?? '')) {
        parseErrors.push(error.code ?? error.message);
      }
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('strict app did not bind');
    return {
      port: bound.port,
      urls,
      completed,
      parseErrors,
      violations,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: fuzz.test\r\n\r\n';
  const BASES = [
    `POST /cl HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    `POST /te HTTP/1.1\r\nHost: fuzz.test\r\nTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    'GET /get HTTP/1.1\r\nHost: fuzz.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nTE: trailers\r\n\r\n',
    `POST /both HTTP/1.1\r\nHost: fuzz.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    `GET /pipe HTTP/1.1\r\nHost: fuzz.test\r\n\r\n${SMUGGLED}`,
  ];
  const INSERTS = [
    '\r',
    '\n',
    '\r\n',
    '\u0000',
    ' ',
    '\t',
    '\u000b',
    ',',
    ':',
    ';',
    '\u00a0',
    '0',
    '1',
    'a',
    '-',
    'chunked',
  ];

  it('property: every request the app parsed was answered to the client, and the app parsed every byte', async () => {
    const fc = (await import('fast-check')).default;
    const app = await startStrictApp();
    // Two workers, as the daemon runs on a two-core machine, whatever this machine has.
    const fuzzRouter = await createBuiltinTrafficSwitch({
      public: { host: '127.0.0.1', port: 0 },
      preview: { host: '127.0.0.1', port: 0 },
      limits: LIMITS,
      workers: 2,
    });
    try {
      await fuzzRouter.apply({
        generation: 1,
        apps: [route('fuzz', ['fuzz.test'], `127.0.0.1:${app.port}`)],
      });
      const mutation = fc.record({
        at: fc.nat(),
        kind: fc.constantFrom('insert', 'delete', 'duplicate-line', 'swap-case'),
        text: fc.constantFrom(...INSERTS),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: BASES.length - 1 }),
          fc.array(mutation, { maxLength: 3 }),
          async (base, mutations) => {
            let request = BASES[base] ?? '';
            for (const { at, kind, text } of mutations) {
              const i = at % (request.length + 1);
              if (kind === 'insert') request = request.slice(0, i) + text + request.slice(i);
              else if (kind === 'delete') request = request.slice(0, i) + request.slice(i + 1);
              else if (kind === 'swap-case') {
                const char = request.charAt(i);
                const swapped =
                  char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
                request = request.slice(0, i) + swapped + request.slice(i + 1);
              } else {
                const start = request.lastIndexOf('\r\n', i) + 2;
                const end = request.indexOf('\r\n', i);
                if (start > 1 && end > start)
                  request =
                    request.slice(0, end + 2) +
                    request.slice(start, end + 2) +
                    request.slice(end + 2);
              }
            }
            const completedBefore = app.completed.length;
            app.parseErrors.length = 0;
            app.violations.length = 0;
            const reply = await sendRaw(
              fuzzRouter.publicAddress.port,
              Buffer.from(request, 'latin1'),
              {
                quietMs: 100,
                finalResponses: Number.MAX_SAFE_INTEGER,
                timeoutMs: 1500,
              },
            );
            await new Promise((resolve) => setTimeout(resolve, 20));
            const completed = app.completed.slice(completedBefore);
            const answered = reply.responses
              .filter((r) => headerValues(r.rawHeaders, 'x-upstream').includes('fuzz'))
              .map((r) => r.body.toString('latin1').replace(/^url=/, ''));
            const refusedLater = reply.responses.some(
              (r) =>
                r.status >= 400 &&
                r.status < 500 &&
                headerValues(r.rawHeaders, 'x-cutover-error').length > 0,
            );
            // Every request the app read to its end was answered to the client, in order: the
            // router and the app agree on where each message ends (no request hidden in a body).
            // The one exception: the router refused a later pipelined message and closed first.
            if (refusedLater) {
              assert.deepEqual(
                completed.slice(0, answered.length),
                answered,
                JSON.stringify(request),
              );
            } else {
              assert.deepEqual(completed, answered, JSON.stringify(request));
            }
            assert.deepEqual(
              app.parseErrors,
              [],
              `the app could not parse what the router sent for ${JSON.stringify(request)}`,
            );
            assert.deepEqual(app.violations, [], JSON.stringify(request));
          },
        ),
        { numRuns: 100, ...FUZZ_SEED },
      );
      // The router is still up after the whole run.
      const alive = await sendRaw(
        fuzzRouter.publicAddress.port,
        'GET /alive HTTP/1.1\r\nHost: fuzz.test\r\n\r\n',
      );
      assert.equal(statusOf(alive), 200);
    } finally {
      await fuzzRouter.close(1000);
      await app.close();
    }
  });
});

describe('fuzz: mutated app responses never reach a strict client malformed', () => {
  const BASE_RESPONSES = [
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=9\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\n\r\nclose-delimited',
  ];
  const INSERTS = ['\r', '\n', '\r\n', '\u0000', ' ', '\t', ',', ':', '0', '9', 'a', 'chunked'];

  it('property: the client parses every answer strictly, or the router refuses it with 502', async () => {
    const fc = (await import('fast-check')).default;
    const { request: httpRequest } = await import('node:http');
    let nextResponse = BASE_RESPONSES[0] ?? '';
    const app = await startRawUpstream({ reply: () => nextResponse, closeAfterReply: true });
    // Two workers, as the daemon runs on a two-core machine, whatever this machine has.
    const fuzzRouter = await createBuiltinTrafficSwitch({
      public: { host: '127.0.0.1', port: 0 },
      preview: { host: '127.0.0.1', port: 0 },
      limits: LIMITS,
      workers: 2,
    });
    /** One GET with node's strict client: the status, or the parse error it hit. */
    const get = (): Promise<{ status?: number; error?: string; body?: string }> =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          req.destroy();
          resolve({ error: 'timeout' });
        }, 3000);
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: fuzzRouter.publicAddress.port,
            path: '/',
            headers: { host: 'rfuzz.test' },
            agent: false,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', (error: Error & { code?: string }) => {
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, error: error.code ?? error.message });
            });
            res.on('end', () => {
              clearTimeout(timer);
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString('latin1'),
              });
            });
          },
        );
        req.on('error', (error: Error & { code?: string }) => {
          clearTimeout(timer);
          resolve({ error: error.code ?? error.message });
        });
        req.end();
      });
    const outcomes: (number | string)[] = [];
    try {
      await fuzzRouter.apply({
        generation: 1,
        apps: [route('rfuzz', ['rfuzz.test'], app.address)],
      });
      const mutation = fc.record({
        at: fc.nat(),
        kind: fc.constantFrom('insert', 'delete'),
        text: fc.constantFrom(...INSERTS),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: BASE_RESPONSES.length - 1 }),
          fc.array(mutation, { maxLength: 3 }),
          async (base, mutations) => {
            let response = BASE_RESPONSES[base] ?? '';
            for (const { at, kind, text } of mutations) {
              const i = at % (response.length + 1);
              response =
                kind === 'insert'
                  ? response.slice(0, i) + text + response.slice(i)
                  : response.slice(0, i) + response.slice(i + 1);
            }
            nextResponse = response;
            const result = await get();
            outcomes.push(result.status ?? result.error ?? 'none');
            const label = JSON.stringify(response);
            // A parse error in the client means the router relayed bytes no strict parser takes.
            assert.ok(
              result.error === undefined || !result.error.startsWith('HPE_'),
              `the client could not parse the router's answer (${result.error}) to ${label}`,
            );
            assert.notEqual(result.error, 'timeout', `the router hung on ${label}`);
            if (result.status !== undefined && result.status !== 502) {
              assert.ok(result.status >= 100 && result.status < 600, label);
            }
          },
        ),
        { numRuns: 80, ...FUZZ_SEED },
      );
      nextResponse = BASE_RESPONSES[0] ?? '';
      assert.equal((await get()).body, 'hello', 'the router stopped answering');
      // Not vacuous: the run saw relayed answers and refused ones.
      assert.ok(outcomes.includes(200), `no answer was relayed: ${outcomes.join()}`);
      assert.ok(
        outcomes.some((o) => o !== 200 && o !== 204),
        `nothing was refused: ${outcomes.join()}`,
      );
    } finally {
      await fuzzRouter.close(1000);
      await app.close();
    }
  });
});
