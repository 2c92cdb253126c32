// The router's per-color error counters: `serverErrors` counts the 5xx an instance answered
// (relayed as they came), `failed` only the 5xx the router generated itself. The verify window
// and the drill add the two, so a release answering 500 to real users is seen (issue 3).
import assert from 'node:assert/strict';
import { Agent, createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ColorTraffic } from '../../src/ports/traffic-switch.ts';
import { routingTable, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { RouterFixture } from '../helpers/router-fixture.ts';
import { sendRaw } from '../helpers/raw-http.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

/** A valid client handshake (RFC 6455 §4.1), sent raw so the test sees the refusal as is. */
const WEBSOCKET_HANDSHAKE =
  'GET /chat HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** An app that refuses every WebSocket handshake with `status` and answers plain requests 200. */
async function startRefusingApp(
  status: number,
): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.end('plain'));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (_req, socket: Socket) => {
    socket.end(
      `HTTP/1.1 ${status} Refused\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** An address nothing listens on: a port bound, then let go. */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router error counters (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath });
    });
    after(async () => {
      await fx.close();
    });

    async function counts(color: 'blue' | 'green' = 'blue'): Promise<ColorTraffic> {
      const snapshot = await fx.router.describe();
      const traffic = snapshot.apps['shop']?.[color];
      assert.ok(traffic !== undefined, `the snapshot has shop/${color}`);
      return traffic;
    }

    async function route(blue: readonly string[]): Promise<void> {
      await fx.router.apply(
        routingTable(++fx.generation, [
          { app: 'shop', live: 'blue', blue, green: [fx.green.address] },
        ]),
      );
    }

    it("counts the instance's 5xx in serverErrors, exactly, and not in failed", async () => {
      await route([fx.blue.address]);
      const start = await counts();
      const statuses = [200, 500, 200, 503, 404, 200, 500, 599, 200, 201];
      for (const code of statuses) {
        const reply = await send(fx.publicPort, { path: `/status?code=${code}` });
        assert.equal(reply.status, code, 'the status is relayed as the instance answered it');
        assert.equal(reply.body.toString(), 'blue');
      }
      const end = await counts();
      assert.equal(end.requests - start.requests, statuses.length);
      assert.equal(end.serverErrors - start.serverErrors, 4);
      assert.equal(end.failed - start.failed, 0);
    });

    it('counts every 5xx on a keep-alive connection', async () => {
      await route([fx.blue.address]);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const start = await counts();
        for (let i = 0; i < 6; i++) {
          const reply = await send(fx.publicPort, {
            agent,
            method: i % 2 === 0 ? 'GET' : 'POST',
            path: '/status?code=502',
            body: i % 2 === 0 ? undefined : 'order=1',
          });
          assert.equal(reply.status, 502);
          if (i > 0) assert.equal(reply.reusedSocket, true, 'one connection carries them all');
        }
        const end = await counts();
        assert.equal(end.serverErrors - start.serverErrors, 6);
        assert.equal(end.failed - start.failed, 0);
      } finally {
        agent.destroy();
      }
    });

    it('counts a 5xx answer to HEAD, which has no body to frame', async () => {
      await route([fx.blue.address]);
      const start = await counts();
      const reply = await send(fx.publicPort, { method: 'HEAD', path: '/status?code=500' });
      assert.equal(reply.status, 500);
      const end = await counts();
      assert.equal(end.serverErrors - start.serverErrors, 1);
      assert.equal(end.failed - start.failed, 0);
    });

    it('counts the 5xx per color: the idle color on the preview listener', async () => {
      await route([fx.blue.address]);
      const [blueStart, greenStart] = [await counts('blue'), await counts('green')];
      for (let i = 0; i < 3; i++) {
        assert.equal((await send(fx.previewPort, { path: '/status?code=500' })).status, 500);
      }
      const [blueEnd, greenEnd] = [await counts('blue'), await counts('green')];
      assert.equal(greenEnd.serverErrors - greenStart.serverErrors, 3);
      assert.equal(blueEnd.serverErrors - blueStart.serverErrors, 0);
    });

    it("counts the router's own 502 in failed only", async () => {
      await route([await deadAddress()]);
      try {
        const start = await counts();
        for (let i = 0; i < 3; i++) {
          const reply = await send(fx.publicPort);
          assert.equal(reply.status, 502);
          assert.match(reply.body.toString(), /CUTOVER_ERR_UPSTREAM_CONNECT/);
        }
        const end = await counts();
        assert.equal(end.failed - start.failed, 3);
        assert.equal(end.serverErrors - start.serverErrors, 0);
      } finally {
        await route([fx.blue.address]);
      }
    });

    it('counts a WebSocket handshake the instance refuses with a 5xx in serverErrors', async () => {
      const app = await startRefusingApp(503);
      try {
        await route([app.address]);
        const start = await counts();
        const reply = await sendRaw(fx.publicPort, WEBSOCKET_HANDSHAKE);
        assert.equal(reply.responses[0]?.status, 503);
        assert.equal(reply.responses[0]?.body.toString(), 'refused');
        const end = await counts();
        assert.equal(end.serverErrors - start.serverErrors, 1);
        assert.equal(end.failed - start.failed, 0);
      } finally {
        await route([fx.blue.address]);
        await app.close();
      }
    });

    it('counts a malformed request body in neither counter: a 400 is the client fault', async () => {
      await route([fx.blue.address]);
      const start = await counts();
      const reply = await sendRaw(
        fx.publicPort,
        'POST /echo HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      );
      assert.equal(reply.responses[0]?.status, 400);
      const end = await counts();
      assert.equal(end.failed - start.failed, 0);
      assert.equal(end.serverErrors - start.serverErrors, 0);
    });
  });
}
