// Long-lived connections through the router: WebSocket relay, and QUALITY.md A4 (WebSockets and
// event streams on the old color close politely within the grace, and never block the flip).
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { routingTable, startRouterFixture } from '../helpers/router-fixture.ts';
import type { RouterFixture } from '../helpers/router-fixture.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

interface OpenSocket {
  readonly ws: WebSocket;
  /** The first message: the upstream's name. */
  readonly color: string;
  readonly closed: Promise<{ code: number; atMs: number }>;
}

function openSocket(port: number, protocols: string[] = []): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, protocols);
    const closed = new Promise<{ code: number; atMs: number }>((resolveClose) =>
      ws.on('close', (code) => resolveClose({ code, atMs: performance.now() })),
    );
    ws.once('error', reject);
    ws.once('message', (data: Buffer) => resolve({ ws, color: data.toString(), closed }));
  });
}

function echo(ws: WebSocket, message: string | Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    ws.once('message', (data: Buffer) => resolve(data));
    ws.send(message);
  });
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router WebSocket and event streams (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath });
    });
    after(async () => {
      await fx.close();
    });

    it('relays messages both ways, text and binary, with the negotiated subprotocol', async () => {
      await fx.flipTo('blue');
      const socket = await openSocket(fx.publicPort, ['chat.v2', 'chat.v1']);
      assert.equal(socket.color, 'blue');
      assert.equal(socket.ws.protocol, 'chat.v2');
      assert.equal((await echo(socket.ws, 'hello')).toString(), 'hello');
      const binary = Buffer.from([0, 1, 2, 250, 251, 252]);
      assert.ok((await echo(socket.ws, binary)).equals(binary));
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      assert.ok((await echo(socket.ws, big)).equals(big));
      socket.ws.close(4000, 'bye');
      assert.equal((await socket.closed).code, 4000);
      const started = performance.now();
      while (fx.blue.websocketCloseCodes.length === 0 && performance.now() - started < 2000) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(fx.blue.websocketCloseCodes, [4000], 'the app saw the client close code');
    });

    it('closes WebSockets on the old color with 1001 after the grace; new ones land on the new color (A4)', async () => {
      await fx.flipTo('blue');
      const sockets = await Promise.all(
        Array.from({ length: 20 }, () => openSocket(fx.publicPort)),
      );
      assert.ok(sockets.every((socket) => socket.color === 'blue'));
      const flipStarted = performance.now();
      await fx.flipTo('green');
      assert.ok(performance.now() - flipStarted < 50, 'open WebSockets never block the flip');
      const drainStarted = performance.now();
      const drain = fx.router.drain('shop', 'blue', { timeoutMs: 5000, websocketGraceMs: 200 });
      const fresh = await openSocket(fx.publicPort);
      assert.equal(fresh.color, 'green');
      // Still open and working during the grace.
      assert.equal((await echo(sockets[0]!.ws, 'still here')).toString(), 'still here');
      const closes = await Promise.all(sockets.map((socket) => socket.closed));
      for (const close of closes) {
        assert.equal(close.code, 1001);
        const afterMs = close.atMs - drainStarted;
        assert.ok(afterMs >= 190 && afterMs < 1500, `closed ${afterMs} ms after the drain began`);
      }
      const report = await drain;
      assert.equal(report.websocketsClosed, 20);
      assert.equal(report.aborted, 0);
      assert.equal(fresh.ws.readyState, WebSocket.OPEN, 'the new color is untouched');
      fresh.ws.close();
      await fresh.closed;
    });

    it('ends an event stream on the old color cleanly after the grace (A4)', async () => {
      await fx.flipTo('blue');
      const stream = new Promise<{ complete: boolean; text: string; status: number }>(
        (resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: fx.publicPort,
              path: '/sse?intervalMs=20',
              agent: false,
              headers: { accept: 'text/event-stream' },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () =>
                resolve({ complete: res.complete, text, status: res.statusCode ?? 0 }),
              );
              res.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await fx.flipTo('green');
      const report = await fx.router.drain('shop', 'blue', {
        timeoutMs: 5000,
        websocketGraceMs: 150,
      });
      const result = await stream;
      assert.equal(result.status, 200);
      assert.equal(result.complete, true, 'the stream ended with its last chunk, not a reset');
      assert.match(result.text, /^data: blue 0\n\n/);
      assert.ok(result.text.endsWith('\n\n'), 'the stream ends on an event boundary');
      assert.equal(report.websocketsClosed, 1);
      assert.ok(report.durationMs < 1000);
    });

    it('relays a handshake the app answers without 101 as a plain response, never upgraded', async () => {
      const plain = createServer((_req, res) => res.end('no websockets here'));
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const address = plain.address() as AddressInfo;
      try {
        await fx.router.apply(
          routingTable(++fx.generation, [
            { app: 'shop', live: 'blue', blue: [`127.0.0.1:${address.port}`], green: [] },
          ]),
        );
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${fx.publicPort}/chat`);
          ws.on('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          ws.on('error', reject);
          ws.on('open', () =>
            reject(new Error('the router completed a handshake the app refused')),
          );
        });
        assert.equal(answer.status, 200);
        assert.equal(answer.body, 'no websockets here');
      } finally {
        await fx.flipTo('blue');
        plain.closeAllConnections();
        await new Promise((resolve) => plain.close(resolve));
      }
    });

    it('answers 502 when the instance refuses the WebSocket connection', async () => {
      await fx.router.apply(
        routingTable(++fx.generation, [
          { app: 'shop', live: 'blue', blue: ['127.0.0.1:1'], green: [] },
        ]),
      );
      try {
        const status = await new Promise<{ status: number; code: unknown }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${fx.publicPort}/chat`);
          ws.on('unexpected-response', (_req, res) => {
            resolve({ status: res.statusCode ?? 0, code: res.headers['x-cutover-error'] });
            res.resume();
          });
          ws.on('error', reject);
        });
        assert.deepEqual(status, { status: 502, code: 'CUTOVER_ERR_UPSTREAM_CONNECT' });
      } finally {
        await fx.flipTo('blue');
      }
    });
  });
}
