import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ErrorCode } from '../../core/errors.ts';
import type { Address } from '../../core/types.ts';
import type {
  ExchangeOutcome,
  Http1Handler,
  Http1Limits,
  RawExchange,
} from './client-connection.ts';
import { ClientConnection } from './client-connection.ts';
import { UpstreamSocketPool } from './upstream-socket-pool.ts';

const LIMITS: Http1Limits = {
  headersTimeoutMs: 500,
  requestTimeoutMs: 1000,
  keepAliveTimeoutMs: 2000,
  upstreamHeadersTimeoutMs: 1000,
  upstreamBodyTimeoutMs: 1000,
  maxHeaderBytes: 8192,
  maxHeaderCount: 50,
};

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

interface Harness {
  port: number;
  ends: Array<{ outcome: ExchangeOutcome; status: number }>;
  exchanges: RawExchange[];
  addresses: Address[];
  handedOff: number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function startHarness(addresses: Address[]): Promise<Harness> {
  const pool = new UpstreamSocketPool({
    idleTimeoutMs: 4000,
    connectTimeoutMs: 1000,
    maxIdlePerAddress: 16,
  });
  const fallback = http.createServer((req, res) => {
    res.setHeader('x-path', 'fallback');
    res.end(`fallback ${req.method} ${req.url}`);
  });
  const harness: Harness = {
    port: 0,
    ends: [],
    exchanges: [],
    addresses,
    handedOff: 0,
    close: async () => {
      pool.close();
      server.close();
      fallback.close();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  const handler: Http1Handler = {
    limits: LIMITS,
    pool,
    decide(head, _peer, exchange) {
      harness.exchanges.push(exchange);
      if (head.target === '/refuse') {
        return {
          kind: 'refuse',
          status: 421,
          code: 'CUTOVER_ERR_ROUTE_UNKNOWN_HOST',
          message: 'no',
        };
      }
      const headers = head.rawHeaders.filter((_, i, all) =>
        i % 2 === 0
          ? !HOP_BY_HOP.has(all[i]!.toLowerCase())
          : !HOP_BY_HOP.has(all[i - 1]!.toLowerCase()),
      );
      return {
        kind: 'forward',
        headers,
        pickAddress: (tried) => harness.addresses.find((a) => !tried.has(a)),
        hooks: { onEnd: (outcome, status) => harness.ends.push({ outcome, status }) },
      };
    },
    sanitizeResponseHeaders: (raw) =>
      raw.filter((_, i, all) =>
        i % 2 === 0
          ? !HOP_BY_HOP.has(all[i]!.toLowerCase())
          : !HOP_BY_HOP.has(all[i - 1]!.toLowerCase()),
      ),
    handoff(socket) {
      harness.handedOff++;
      fallback.emit('connection', socket);
    },
    closing: () => false,
    errorResponse(status: number, code: ErrorCode, message: string, close: boolean) {
      return `HTTP/1.1 ${status} Error\r\nx-cutover-error: ${code}\r\ncontent-length: ${message.length}\r\n${close ? 'connection: close\r\n' : ''}\r\n${message}`;
    },
  };
  const server = net.createServer((socket) => new ClientConnection(socket, handler));
  harness.port = await listen(server);
  return harness;
}

/** Sends raw bytes and collects everything until the server closes or `idleMs` of silence. */
async function raw(port: number, data: string | Buffer, idleMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    let timer = setTimeout(() => socket.destroy(), idleMs);
    socket.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), idleMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.write(data);
  });
}

describe('ClientConnection (raw forwarding path)', () => {
  let upstream: http.Server;
  let upstreamAddress: Address;
  let upstreamConnections = 0;
  let upstreamBytes = 0;
  let harness: Harness;

  // Varied bytes: a reused read buffer overwritten under a pending write would show.
  // Larger than the loopback socket buffers, so the router's writes to a stalled client back up.
  const big = randomBytes(16 * 1024 * 1024 + 17);

  before(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url === '/big-length' || req.url === '/big-chunked') {
        if (req.url === '/big-length') res.setHeader('content-length', big.length);
        // Many writes of uneven sizes, so reads on the router side split them anywhere.
        for (let at = 0; at < big.length; at += 70_001) res.write(big.subarray(at, at + 70_001));
        res.end();
        return;
      }
      if (req.url === '/split-head') {
        // The response head arrives in two reads, the second one with the body.
        const socket = res.socket as net.Socket;
        socket.write('HTTP/1.1 200 OK\r\nContent-Le');
        setTimeout(() => socket.end('ngth: 5\r\nConnection: close\r\nX-A: 1\r\n\r\nsplit'), 50);
        return;
      }
      if (req.url === '/chunked') {
        res.write('part1-');
        res.end('part2');
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('slow'), 400);
        return;
      }
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        res.setHeader('x-method', req.method ?? '');
        res.setHeader('x-te', String(req.headers['transfer-encoding']));
        res.setHeader('content-length', body.length || 2);
        res.end(body.length > 0 ? body : 'ok');
      });
    });
    upstream.on('connection', (socket: net.Socket) => {
      upstreamConnections++;
      socket.on('data', (d: Buffer) => (upstreamBytes += d.length));
    });
    upstreamAddress = `127.0.0.1:${await listen(upstream)}`;
    harness = await startHarness([upstreamAddress]);
  });

  after(async () => {
    await harness.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  it('serves many keep-alive requests on one client connection over one upstream connection', async () => {
    const before = upstreamConnections;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 50; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get({ port: harness.port, host: '127.0.0.1', path: `/n${i}`, agent }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      assert.equal(body, 'ok');
    }
    agent.destroy();
    assert.equal(upstreamConnections - before, 1);
  });

  it('streams Content-Length and chunked request bodies byte-exact', async () => {
    const payload = 'x'.repeat(100_000) + 'end';
    const viaLength = await raw(
      harness.port,
      `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`,
    );
    assert.match(viaLength, /^HTTP\/1\.1 200/);
    assert.ok(viaLength.endsWith(payload));
    const chunked = `5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n`;
    const viaChunks = await raw(
      harness.port,
      `POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`,
    );
    assert.match(viaChunks, /x-te: chunked/i);
    assert.ok(viaChunks.endsWith('hello world'));
  });

  it('relays a large response byte-exact to a client that reads slowly', async () => {
    const digest = createHash('sha256').update(big).digest('hex');
    for (const path of ['/big-length', '/big-chunked']) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        http
          .get({ port: harness.port, host: '127.0.0.1', path }, (res) => {
            const parts: Buffer[] = [];
            // Stalls at first and now and then, so the router's writes to the client back up.
            res.pause();
            setTimeout(() => res.resume(), 300);
            res.on('data', (d: Buffer) => {
              parts.push(d);
              if (parts.length % 50 === 0) {
                res.pause();
                setTimeout(() => res.resume(), 20);
              }
            });
            res.on('end', () => resolve(Buffer.concat(parts)));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      assert.equal(body.length, big.length, path);
      assert.equal(createHash('sha256').update(body).digest('hex'), digest, path);
    }
  });

  it('reads a response head that arrives in two parts', async () => {
    const reply = await raw(
      harness.port,
      'GET /split-head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(reply, /\r\nX-A: 1\r\n/);
    assert.ok(reply.endsWith('\r\n\r\nsplit'), reply);
  });

  it('forwards a chunked response and answers pipelined requests in order', async () => {
    const reply = await raw(
      harness.port,
      'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    const first = reply.indexOf('part1-');
    const second = reply.lastIndexOf('HTTP/1.1 200');
    assert.ok(first > 0 && second > first, reply);
    assert.match(reply, /transfer-encoding: chunked/i);
    assert.ok(reply.endsWith('ok'));
  });

  it('refuses smuggling framing with 400 and sends the upstream nothing', async () => {
    const before = upstreamBytes;
    for (const request of [
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\nHost: a\n\n',
      'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n',
    ]) {
      const reply = await raw(harness.port, request);
      assert.match(reply, /^HTTP\/1\.1 400 /, request);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(upstreamBytes, before);
  });

  it('ends a request whose chunked body turns malformed and closes the connection', async () => {
    const reply = await raw(
      harness.port,
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    );
    assert.match(reply, /^HTTP\/1\.1 400 /);
  });

  it('answers 431 for an oversized head and 408 for a head that never ends', async () => {
    const big = await raw(
      harness.port,
      `GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(9000)}\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1\.1 431 /);
    const slow = await raw(harness.port, 'GET / HTTP/1.1\r\nHost: a\r\n', 1500);
    assert.match(slow, /^HTTP\/1\.1 408 /);
  });

  it('hands Upgrade, Expect and HTTP/1.0 requests to the node:http server', async () => {
    const before = harness.handedOff;
    const reply = await raw(harness.port, 'GET /h HTTP/1.0\r\nHost: a\r\n\r\n');
    assert.match(reply, /fallback GET \/h/);
    const expect = await raw(
      harness.port,
      'POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
    );
    assert.match(expect, /fallback POST \/e/);
    assert.equal(harness.handedOff - before, 2);
  });

  it('relays a router refusal from the handler', async () => {
    const reply = await raw(harness.port, 'GET /refuse HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 421 /);
    assert.match(reply, /CUTOVER_ERR_ROUTE_UNKNOWN_HOST/);
  });

  it('ends an exchange stopped at a drain deadline with 504 before any response byte', async () => {
    const pending = raw(harness.port, 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    harness.exchanges.at(-1)?.stop('deadline');
    const reply = await pending;
    assert.match(reply, /^HTTP\/1\.1 504 /);
    assert.match(reply, /CUTOVER_ERR_DRAIN_DEADLINE/);
    assert.equal(harness.ends.at(-1)?.outcome, 'aborted');
  });
});

describe('ClientConnection upstream failures', () => {
  it('tries the next instance when one refuses, and answers 502 when none is left', async () => {
    const dead = net.createServer();
    const deadPort = await listen(dead);
    await new Promise((resolve) => dead.close(resolve));
    const alive = http.createServer((_req, res) => res.end('alive'));
    const alivePort = await listen(alive);
    const harness = await startHarness([`127.0.0.1:${deadPort}`, `127.0.0.1:${alivePort}`]);
    try {
      const ok = await raw(harness.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.match(ok, /^HTTP\/1\.1 200 /);
      assert.ok(ok.endsWith('alive'));
      harness.addresses = [`127.0.0.1:${deadPort}`];
      const bad = await raw(harness.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(bad, /^HTTP\/1\.1 502 /);
      assert.match(bad, /CUTOVER_ERR_UPSTREAM_CONNECT/);
    } finally {
      await harness.close();
      alive.close();
    }
  });

  it('never answers 502 when the app closes idle keep-alive connections (A6)', async () => {
    // The app's idle timeout (60 ms) is far below the router's pool timeout: every reuse races it.
    const app = http.createServer({ keepAliveTimeout: 60 }, (_req, res) => res.end('v'));
    const appPort = await listen(app);
    const harness = await startHarness([`127.0.0.1:${appPort}`]);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50 + (i % 5) * 5));
        statuses.push(
          await new Promise<number>((resolve, reject) => {
            http
              .get({ port: harness.port, host: '127.0.0.1', path: '/', agent }, (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode ?? 0));
              })
              .on('error', reject);
          }),
        );
      }
      agent.destroy();
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
      );
    } finally {
      await harness.close();
      app.close();
    }
  });
});
