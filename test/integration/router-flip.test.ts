// The atomic flip of the built-in router: routing by Host and color, and QUALITY.md A1 and A5.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Color } from '../../src/core/types.ts';
import { routingTable, send, startRouterFixture } from '../helpers/router-fixture.ts';
import type { Reply, RouterFixture } from '../helpers/router-fixture.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** Both forwarding paths, and the worker-thread router. */
const CONFIGS = [
  { workers: 1, fastPath: true },
  { workers: 2, fastPath: true },
  { workers: 1, fastPath: false },
];

function label(workers: number, fastPath: boolean): string {
  return `${workers} worker${workers > 1 ? 's' : ''}, ${fastPath ? 'fast path' : 'node:http'}`;
}

for (const { workers, fastPath } of CONFIGS) {
  describe(`router routing (${label(workers, fastPath)})`, () => {
    let fx: RouterFixture;
    before(async () => {
      fx = await startRouterFixture({ workers, fastPath });
    });
    after(async () => {
      await fx.close();
    });

    it('serves the live color on the public listener and the idle one on the preview', async () => {
      const live = await send(fx.publicPort);
      assert.equal(live.status, 200);
      assert.equal(live.body.toString(), 'blue');
      const preview = await send(fx.previewPort);
      assert.equal(preview.body.toString(), 'green');
    });

    it('answers 421 for an unknown Host when no app is the catch-all', async () => {
      const shop = await startUpstream({ name: 'shop' });
      try {
        await fx.router.apply(
          routingTable(++fx.generation, [
            { app: 'shop', hosts: ['shop.test'], live: 'blue', blue: [shop.address], green: [] },
          ]),
        );
        const known = await send(fx.publicPort, { headers: { host: 'Shop.Test:8080' } });
        assert.equal(known.body.toString(), 'shop');
        const unknown = await send(fx.publicPort, { headers: { host: 'other.test' } });
        assert.equal(unknown.status, 421);
        assert.equal(unknown.headers['x-cutover-error'], 'CUTOVER_ERR_ROUTE_UNKNOWN_HOST');
        assert.equal(shop.requests, 1);
      } finally {
        await fx.flipTo('blue');
        await shop.close();
      }
    });

    it('answers 503 when the app has no live color yet', async () => {
      await fx.router.apply(
        routingTable(++fx.generation, [
          { app: 'shop', live: null, blue: [fx.blue.address], green: [] },
        ]),
      );
      const reply = await send(fx.publicPort);
      assert.equal(reply.status, 503);
      assert.equal(reply.headers['x-cutover-error'], 'CUTOVER_ERR_ROUTE_NO_LIVE');
      const preview = await send(fx.previewPort);
      assert.equal(preview.body.toString(), 'blue');
      await fx.flipTo('blue');
    });

    it('ignores a table with an older generation', async () => {
      await fx.flipTo('green');
      const report = await fx.router.apply(
        routingTable(1, [
          { app: 'shop', live: 'blue', blue: [fx.blue.address], green: [fx.green.address] },
        ]),
      );
      assert.equal(report.generation, fx.generation);
      assert.equal((await send(fx.publicPort)).body.toString(), 'green');
      await fx.flipTo('blue');
    });

    it('forwards a POST body and the app status code', async () => {
      const echo = await send(fx.publicPort, {
        method: 'POST',
        path: '/echo',
        body: 'x'.repeat(70_000),
      });
      const parsed = JSON.parse(echo.body.toString()) as { body: string; method: string };
      assert.equal(parsed.method, 'POST');
      assert.equal(parsed.body.length, 70_000);
      const status = await send(fx.publicPort, { path: '/status?code=418' });
      assert.equal(status.status, 418);
      assert.equal(status.headers['x-cutover-error'], undefined);
    });

    it('reroutes a keep-alive connection opened before a flip, never resets it (A5)', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await send(fx.publicPort, { agent });
        assert.equal(first.body.toString(), 'blue');
        await fx.flipTo('green');
        const second = await send(fx.publicPort, { agent });
        assert.equal(second.body.toString(), 'green');
        assert.equal(second.reusedSocket, true, 'the same client connection carried both requests');
        await fx.flipTo('blue');
        const third = await send(fx.publicPort, { agent });
        assert.equal(third.body.toString(), 'blue');
        assert.equal(third.reusedSocket, true);
      } finally {
        agent.destroy();
      }
    });
  });

  describe(`router flip under load (A1, ${label(workers, fastPath)})`, () => {
    const FLIPS = 100;
    const FLIP_INTERVAL_MS = 15;
    const LOAD_DEADLINE_MS = 30_000;

    it('loses nothing over 100 flips and sends every request after a flip to the new color', async () => {
      const fx = await startRouterFixture({ workers, fastPath });
      let resolvedColor: Color = 'blue';
      let appliesStarted = 0;
      let applying = false;
      let flipping = true;
      let sent = 0;
      let strictChecks = 0;
      const failures: string[] = [];
      const misrouted: string[] = [];

      async function one(
        kind: 'keep-alive' | 'new-connection' | 'post',
        agent: Agent,
      ): Promise<void> {
        const expected = resolvedColor;
        // A request sent while a flip is under way may land on either color.
        const appliesBefore = applying ? -1 : appliesStarted;
        sent++;
        let reply: Reply;
        try {
          if (kind === 'post') {
            const body = `payload-${sent}`;
            reply = await send(fx.publicPort, { method: 'POST', path: '/echo', body, agent });
            const echoed = JSON.parse(reply.body.toString()) as { name: string; body: string };
            if (echoed.body !== body) failures.push(`post body changed: ${echoed.body}`);
            reply = { ...reply, body: Buffer.from(echoed.name) };
          } else {
            reply = await send(fx.publicPort, kind === 'keep-alive' ? { agent } : {});
          }
        } catch (error) {
          failures.push(`${kind}: ${(error as Error).message}`);
          return;
        }
        if (reply.status !== 200) {
          failures.push(
            `${kind}: status ${reply.status} ${String(reply.headers['x-cutover-error'])}`,
          );
          return;
        }
        const landed = reply.body.toString();
        if (appliesStarted === appliesBefore) {
          // Sent after a flip resolved, and no flip started while it ran: it must be on the
          // color of the last flip.
          strictChecks++;
          if (landed !== expected) misrouted.push(`${kind}: expected ${expected}, got ${landed}`);
        }
      }

      async function loop(kind: 'keep-alive' | 'new-connection' | 'post'): Promise<void> {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const started = performance.now();
        try {
          while (flipping && performance.now() - started < LOAD_DEADLINE_MS) await one(kind, agent);
        } finally {
          agent.destroy();
        }
      }

      const loops = [
        ...Array.from({ length: 4 }, () => loop('keep-alive')),
        ...Array.from({ length: 3 }, () => loop('new-connection')),
        ...Array.from({ length: 3 }, () => loop('post')),
      ];
      try {
        for (let i = 0; i < FLIPS; i++) {
          await new Promise((resolve) => setTimeout(resolve, FLIP_INTERVAL_MS));
          const next: Color = resolvedColor === 'blue' ? 'green' : 'blue';
          appliesStarted++;
          applying = true;
          await fx.flipTo(next);
          resolvedColor = next;
          applying = false;
        }
        await new Promise((resolve) => setTimeout(resolve, FLIP_INTERVAL_MS));
      } finally {
        flipping = false;
        await Promise.all(loops);
      }
      const traffic = await fx.router.describe();
      await fx.close();
      assert.deepEqual(failures, []);
      assert.deepEqual(misrouted, []);
      assert.ok(sent > 300, `only ${sent} requests were sent`);
      assert.ok(strictChecks > sent / 4, `only ${strictChecks} of ${sent} requests were checked`);
      const shop = traffic.apps['shop'];
      assert.ok(shop !== undefined);
      assert.equal(shop.blue.failed + shop.green.failed, 0);
      assert.equal(shop.blue.inflight + shop.green.inflight, 0);
    });
  });
}
