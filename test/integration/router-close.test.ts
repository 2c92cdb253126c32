// Closing the router (QUALITY.md B5, router part): it stops accepting, in-flight responses
// finish with `Connection: close`, and it is gone before the deadline.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { describe, it } from 'node:test';
import { routingTable, send, startRouterFixture } from '../helpers/router-fixture.ts';

const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router close (${label(workers, fastPath)})`, () => {
    it('finishes in-flight responses with Connection: close and stops accepting', async () => {
      const fx = await startRouterFixture({ workers, fastPath });
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        assert.equal((await send(fx.publicPort, { agent })).status, 200);
        const inflight = send(fx.publicPort, { agent, path: '/slow?ms=300' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        const started = performance.now();
        const closed = fx.router.close(5000);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await assert.rejects(send(fx.publicPort), /ECONNREFUSED/);
        const reply = await inflight;
        assert.equal(reply.status, 200);
        assert.equal(reply.body.toString(), 'blue');
        assert.equal(reply.headers.connection, 'close');
        await closed;
        const closeMs = performance.now() - started;
        assert.ok(closeMs < 2000, `close took ${closeMs} ms`);
      } finally {
        agent.destroy();
        await fx.close();
      }
    });

    it('ends what is still running at the deadline and returns before it', async () => {
      const fx = await startRouterFixture({ workers, fastPath });
      try {
        const hanging = send(fx.publicPort, { path: '/hang' }).then(
          (reply) => reply.status,
          (error: Error) => error.message,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        const started = performance.now();
        await fx.router.close(600);
        const closeMs = performance.now() - started;
        assert.ok(closeMs < 1200, `close took ${closeMs} ms with a 600 ms deadline`);
        assert.equal(await hanging, 504);
      } finally {
        await fx.close();
      }
    });
  });
}

for (const workers of [1, 2]) {
  describe(`router start (${workers} worker${workers > 1 ? 's' : ''})`, () => {
    it('serves the table it was given from the first connection', async () => {
      const fx = await startRouterFixture({
        workers,
        table: routingTable(7, [{ app: 'shop', live: 'green', blue: [], green: ['127.0.0.1:1'] }]),
      });
      try {
        // The fixture applies its own table (generation 1) after start: older, so ignored.
        const reply = await send(fx.publicPort);
        assert.equal(reply.status, 502, 'routed to the given table, not an empty one (421)');
        assert.equal((await fx.router.describe()).generation, 7);
      } finally {
        await fx.close();
      }
    });
  });
}
