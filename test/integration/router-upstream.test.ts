// Upstream side of the router: QUALITY.md A7 (a down instance is not routed to), passive and
// active health, 502/504 with their codes, and the retry rules of DESIGN.md (A6).
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { routingTable, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { RouterFixture } from '../helpers/router-fixture.ts';
import { startUpstream } from '../helpers/upstream.ts';
import type { Upstream } from '../helpers/upstream.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 1, fastPath: false },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

/**
 * A raw HTTP/1.1 app with a scripted flaw: the second request on every connection is read and
 * then the connection is closed without an answer (what an app closing an idle keep-alive
 * connection looks like to a proxy that just sent on it). Requests carry no body or a small one.
 */
async function startFlakyApp(): Promise<{
  address: string;
  requests: () => number;
  close(): Promise<void>;
}> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let onThisConnection = 0;
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        requests++;
        onThisConnection++;
        if (onThisConnection === 2) {
          socket.end();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nflaky');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router upstreams (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    let spare: Upstream;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath, upstream: { headersTimeoutMs: 300 } });
      spare = await startUpstream({ name: 'blue' });
    });
    after(async () => {
      await fx.close();
      await spare.close();
    });

    async function route(blue: readonly string[]): Promise<void> {
      await fx.router.apply(
        routingTable(++fx.generation, [
          { app: 'shop', live: 'blue', blue, green: [fx.green.address] },
        ]),
      );
    }

    it('round-robins across the instances of the color', async () => {
      await route([fx.blue.address, spare.address]);
      const before = [fx.blue.requests, spare.requests];
      for (let i = 0; i < 10; i++) assert.equal((await send(fx.publicPort)).status, 200);
      assert.equal(fx.blue.requests - before[0]!, 5);
      assert.equal(spare.requests - before[1]!, 5);
    });

    it('never routes to an instance the health checks report down (A7)', async () => {
      await route([fx.blue.address, spare.address]);
      fx.router.setUpstreamHealth(new Map([[spare.address, false]]));
      const before = spare.requests;
      for (let i = 0; i < 10; i++)
        assert.equal((await send(fx.publicPort)).body.toString(), 'blue');
      assert.equal(spare.requests, before, 'the down instance got no request');
      fx.router.setUpstreamHealth(new Map([[spare.address, true]]));
      for (let i = 0; i < 4; i++) await send(fx.publicPort);
      assert.ok(spare.requests > before, 'the instance is used again once it is up');
    });

    it('still tries a down instance when it is the only one', async () => {
      await route([spare.address]);
      fx.router.setUpstreamHealth(new Map([[spare.address, false]]));
      try {
        assert.equal((await send(fx.publicPort)).status, 200);
      } finally {
        fx.router.setUpstreamHealth(new Map([[spare.address, true]]));
      }
    });

    it('sends a request that an instance refused to another one, never failing it (passive health)', async () => {
      await route(['127.0.0.1:1', fx.blue.address]);
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      try {
        const replies = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            i % 2 === 0
              ? send(fx.publicPort, { agent })
              : send(fx.publicPort, { agent, method: 'POST', path: '/echo', body: `b${i}` }),
          ),
        );
        for (const reply of replies) assert.equal(reply.status, 200);
      } finally {
        agent.destroy();
      }
    });

    it('answers 502 CUTOVER_ERR_UPSTREAM_CONNECT when every instance refuses', async () => {
      await route(['127.0.0.1:1']);
      const reply = await send(fx.publicPort);
      assert.equal(reply.status, 502);
      assert.equal(reply.headers['x-cutover-error'], 'CUTOVER_ERR_UPSTREAM_CONNECT');
      const traffic = await fx.router.describe();
      assert.ok((traffic.apps['shop']?.blue.failed ?? 0) >= 1);
    });

    it('answers 504 CUTOVER_ERR_UPSTREAM_TIMEOUT when the instance does not answer in time', async () => {
      await route([fx.blue.address]);
      const started = performance.now();
      const reply = await send(fx.publicPort, { path: '/hang' });
      assert.equal(reply.status, 504);
      assert.equal(reply.headers['x-cutover-error'], 'CUTOVER_ERR_UPSTREAM_TIMEOUT');
      assert.ok(performance.now() - started < 2000);
    });

    it('resends an idempotent bodiless request lost on a reused connection, once (A6)', async () => {
      const app = await startFlakyApp();
      await route([app.address]);
      try {
        const first = await send(fx.publicPort);
        assert.equal(first.body.toString(), 'flaky');
        // Goes out on the same upstream connection, which the app closes without answering.
        const second = await send(fx.publicPort);
        assert.equal(second.status, 200);
        assert.equal(second.body.toString(), 'flaky');
        assert.equal(
          app.requests(),
          3,
          'sent twice on the reused connection, then once more on a fresh one',
        );
      } finally {
        await app.close();
      }
    });

    it('never resends a request with a body (A6)', async () => {
      const app = await startFlakyApp();
      await route([app.address]);
      try {
        assert.equal((await send(fx.publicPort, { method: 'POST', body: 'one' })).status, 200);
        const second = await send(fx.publicPort, { method: 'POST', body: 'two' });
        assert.equal(second.status, 502);
        assert.equal(second.headers['x-cutover-error'], 'CUTOVER_ERR_UPSTREAM_CONNECT');
        assert.equal(app.requests(), 2, 'the POST reached the app once and was not resent');
      } finally {
        await app.close();
      }
    });

    it('forwards obs-text bytes in header values unchanged, both ways', async () => {
      await route([fx.blue.address]);
      const socket = connect(fx.publicPort, '127.0.0.1');
      socket.write(
        Buffer.concat([
          Buffer.from('GET /echo HTTP/1.1\r\nHost: shop.test\r\nX-Name: caf'),
          Buffer.from([0xe9]),
          Buffer.from('\r\nConnection: close\r\n\r\n'),
        ]),
      );
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve) => socket.on('close', resolve));
      const reply = Buffer.concat(chunks);
      const body = reply.subarray(reply.indexOf('\r\n\r\n') + 4).toString('utf8');
      const echoed = JSON.parse(body) as { headers: string[] };
      // The app decodes header bytes as latin1: one byte 0xe9 is the character U+00E9.
      assert.equal(echoed.headers[echoed.headers.indexOf('X-Name') + 1], 'caf\u00e9');
    });

    it("closes an idle upstream connection before the app's own Keep-Alive timeout (A6)", async () => {
      // The app says `Keep-Alive: timeout=2`: the router must not reuse the connection after
      // 1 s (2 s less its margin), though its own idle timeout is 4 s.
      const app = await startUpstream({ name: 'short', keepAliveTimeoutMs: 2000 });
      try {
        await route([app.address]);
        assert.equal((await send(fx.publicPort)).status, 200);
        assert.equal((await send(fx.publicPort)).status, 200);
        assert.equal(app.connections, 1, 'reused at once');
        await new Promise((resolve) => setTimeout(resolve, 1300));
        assert.equal((await send(fx.publicPort)).status, 200);
        assert.equal(app.connections, 2, 'a new connection after the hinted idle time');
      } finally {
        await app.close();
      }
    });

    it('keeps upstream connections alive across requests', async () => {
      await route([spare.address]);
      const before = spare.connections;
      for (let i = 0; i < 20; i++) await send(fx.publicPort);
      assert.ok(
        spare.connections - before <= 1,
        `${spare.connections - before} new connections for 20 requests`,
      );
    });
  });
}
