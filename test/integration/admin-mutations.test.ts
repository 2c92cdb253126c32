// QUALITY.md D4 (stale If-Match 412; 20 concurrent deploys: exactly one proceeds, the others 409
// naming the holder) and B4 (a bad request to the admin API changes neither live routing nor
// stored state), against a real daemon.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestDaemon, type AdminReply, type TestDaemon } from '../helpers/daemon.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { ADMIN_BODY_LIMIT_BYTES } from '../../src/daemon/admin/read-json-body.ts';

const FAST_HEALTH = { path: '/', intervalMs: 50, timeoutMs: 1000, rise: 1, fall: 2 };
/** Slow enough that 20 requests sent at once all arrive while the first one holds the lock. */
const SLOW_HEALTH = { path: '/', intervalMs: 300, timeoutMs: 1000, rise: 5, fall: 2 };

interface ErrorReply {
  error: { code: string; message: string };
}

function errorOf(reply: AdminReply): ErrorReply['error'] {
  return reply.json<ErrorReply>().error;
}

describe('admin mutations (D4, B4)', () => {
  let daemon: TestDaemon;
  let blue: Upstream;
  let green: Upstream;
  let other: Upstream;

  before(async () => {
    [blue, green, other] = await Promise.all([
      startUpstream({ name: 'shop-v1' }),
      startUpstream({ name: 'shop-v2' }),
      startUpstream({ name: 'blog-v1' }),
    ]);
    daemon = await startTestDaemon();
    const first = await daemon.admin('POST', '/v1/apps/shop/deploy', {
      body: { release: 'v1', instances: [blue.address], hosts: ['shop.test'], health: FAST_HEALTH },
    });
    assert.equal(first.status, 200, first.body);
    const second = await daemon.admin('POST', '/v1/apps/shop/deploy', {
      body: { release: 'v2', instances: [green.address], health: FAST_HEALTH },
    });
    assert.equal(second.status, 200, second.body);
  });

  after(async () => {
    await daemon.stop();
    await Promise.all([blue.close(), green.close(), other.close()]);
  });

  async function snapshot() {
    const status = await daemon.admin('GET', '/v1/status');
    assert.equal(status.status, 200);
    const parsed = status.json<{
      revision: number;
      apps: { colors: Record<string, { requests?: number; inflight?: number }> }[];
    }>();
    const routed = await daemon.get('public', '/', { host: 'shop.test' });
    const preview = await daemon.get('preview', '/', { host: 'shop.test' });
    return {
      etag: status.headers.etag,
      revision: parsed.revision,
      // Everything but the traffic counters, which the probing requests themselves move.
      apps: JSON.stringify(parsed.apps, (key, value: unknown) =>
        key === 'requests' || key === 'inflight' || key === 'websockets' ? undefined : value,
      ),
      routed: `${routed.status} ${routed.body}`,
      preview: `${preview.status} ${preview.body}`,
    };
  }

  it('serves the second release live and the first on preview', async () => {
    const state = await snapshot();
    assert.equal(state.routed, '200 shop-v2');
    assert.equal(state.preview, '200 shop-v1');
    assert.equal(state.etag, `"${state.revision}"`);
  });

  it('counts flips and routed requests per app and color in /metrics', async () => {
    for (let i = 0; i < 3; i++) await daemon.get('public', '/', { host: 'shop.test' });
    const reply = await daemon.admin('GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.match(reply.body, /cutover_flips_total\{app="shop",kind="deploy"\} 2/);
    assert.match(reply.body, /cutover_flip_duration_seconds_count\{app="shop",kind="deploy"\} 2/);
    const routed = /cutover_requests_total\{app="shop",color="green"\} (\d+)/.exec(reply.body);
    assert.ok(routed !== null && Number(routed[1]) >= 3, reply.body);
    assert.match(reply.body, /cutover_inflight_requests\{app="shop",color="green"\} 0/);
  });

  it('streams a deployment timeline live on /v1/events', async () => {
    const types: string[] = [];
    let buffer = '';
    let response: IncomingMessage | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        { socketPath: daemon.info.admin.socket, path: '/v1/events?app=feed', method: 'GET' },
        (res) => {
          response = res;
          res.setEncoding('utf8').on('data', (chunk: string) => {
            buffer += chunk;
            for (const match of buffer.matchAll(/^event: (.+)$/gm)) types.push(match[1] ?? '');
            buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
            if (types.includes('audit')) resolve();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    // The stream is open once its first comment line arrived.
    while (response === undefined) await delay(10);
    const deploy = await daemon.admin('POST', '/v1/apps/feed/deploy', {
      body: {
        release: 'f1',
        instances: [other.address],
        hosts: ['feed.test'],
        health: FAST_HEALTH,
      },
    });
    assert.equal(deploy.status, 200, deploy.body);
    await done;
    response.destroy();
    for (const type of ['deploy-started', 'deploy-healthy', 'flipped', 'audit']) {
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    }
    assert.ok(types.indexOf('deploy-started') < types.indexOf('flipped'));
  });

  it('refuses a stale If-Match with 412 and changes nothing; a current one proceeds (D4)', async () => {
    const before = await snapshot();
    const stale = await daemon.admin('POST', '/v1/apps/shop/flip', {
      body: {},
      headers: { 'if-match': `"${before.revision - 1}"` },
    });
    assert.equal(stale.status, 412, stale.body);
    assert.equal(errorOf(stale).code, 'CUTOVER_ERR_STATE_CONFLICT');
    assert.deepEqual(await snapshot(), before);

    const current = await daemon.admin('POST', '/v1/apps/shop/flip', {
      body: {},
      headers: { 'if-match': String(before.etag) },
    });
    assert.equal(current.status, 200, current.body);
    const flipped = await snapshot();
    assert.equal(flipped.routed, '200 shop-v1');
    const back = await daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(back.status, 200, back.body);
    assert.equal((await snapshot()).routed, '200 shop-v2');
  });

  it('lets exactly one of 20 concurrent deploys proceed; the others get 409 naming the holder (D4)', async () => {
    const body = {
      release: 'b1',
      instances: [other.address],
      hosts: ['blog.test'],
      health: SLOW_HEALTH,
    };
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        daemon.admin('POST', '/v1/apps/blog/deploy', {
          body,
          headers: { 'x-cutover-actor': `racer-${i}` },
        }),
      ),
    );
    const ok = replies.filter((reply) => reply.status === 200);
    const locked = replies.filter((reply) => reply.status === 409);
    assert.equal(ok.length, 1, replies.map((reply) => `${reply.status} ${reply.body}`).join('\n'));
    assert.equal(
      locked.length,
      19,
      replies.map((reply) => `${reply.status} ${reply.body}`).join('\n'),
    );
    const winner = replies.indexOf(ok[0] as AdminReply);
    for (const reply of locked) {
      const error = errorOf(reply);
      assert.equal(error.code, 'CUTOVER_ERR_APP_LOCKED');
      assert.match(error.message, new RegExp(`racer-${winner}\\b`), error.message);
    }
    const routed = await daemon.get('public', '/', { host: 'blog.test' });
    assert.equal(`${routed.status} ${routed.body}`, '200 blog-v1');
  });

  it('changes neither routing nor stored state on any bad request (B4)', async () => {
    const before = await snapshot();
    const historyBefore = (await daemon.admin('GET', '/v1/history?app=shop&limit=1000'))
      .json<{
        events: { type: string }[];
      }>()
      .events.filter((event) => event.type !== 'audit');
    const bad: { path: string; body: unknown; headers?: Record<string, string>; status: number }[] =
      [
        { path: '/v1/apps/shop/deploy', body: '{"release": "v3", ', status: 400 },
        { path: '/v1/apps/shop/deploy', body: [1, 2, 3], status: 400 },
        { path: '/v1/apps/shop/deploy', body: { release: 'v3' }, status: 400 },
        {
          path: '/v1/apps/shop/deploy',
          body: { release: 'v3', instances: ['no-port'] },
          status: 400,
        },
        {
          path: '/v1/apps/shop/deploy',
          body: { release: 'v3', instances: ['127.0.0.1:99999'] },
          status: 400,
        },
        {
          path: '/v1/apps/shop/deploy',
          body: { release: '', instances: [blue.address] },
          status: 400,
        },
        {
          path: '/v1/apps/shop/deploy',
          body: { release: 'v3', instances: [blue.address], bogus: 1 },
          status: 400,
        },
        {
          path: '/v1/apps/shop/deploy',
          body: { release: 'v3', instances: [blue.address], health: { rise: 0 } },
          status: 400,
        },
        {
          path: '/v1/apps/shop/deploy',
          body: {
            release: 'v3',
            instances: [blue.address],
            hosts: ['blog.test'],
            health: FAST_HEALTH,
          },
          status: 409,
        },
        { path: '/v1/apps/shop/flip', body: { to: 'purple' }, status: 400 },
        { path: '/v1/apps/shop/flip', body: { waitDrain: 'yes' }, status: 400 },
        { path: '/v1/apps/shop/flip', body: {}, headers: { 'if-match': 'banana' }, status: 400 },
        {
          path: '/v1/apps/shop/flip',
          body: {},
          headers: { 'content-type': 'text/plain' },
          status: 415,
        },
        { path: '/v1/apps/nope/flip', body: {}, status: 404 },
        { path: '/v1/apps/nope/rollback', body: {}, status: 404 },
        { path: '/v1/apps/shop/explode', body: {}, status: 404 },
        {
          path: '/v1/apps/shop/deploy',
          body: {
            release: 'v3',
            instances: [blue.address],
            pad: 'x'.repeat(ADMIN_BODY_LIMIT_BYTES + 1024),
          },
          status: 413,
        },
      ];
    for (const request of bad) {
      const reply = await daemon.admin('POST', request.path, {
        body: request.body,
        ...(request.headers === undefined ? {} : { headers: request.headers }),
      });
      assert.equal(
        reply.status,
        request.status,
        `${request.path} ${JSON.stringify(request.body).slice(0, 80)}: ${reply.body}`,
      );
      const error = errorOf(reply);
      assert.match(error.code, /^CUTOVER_ERR_/);
      assert.ok(error.message.length > 10, error.message);
      assert.doesNotMatch(reply.body, /\bat .*\.ts:\d+/, 'no stack trace to the client');
    }
    assert.deepEqual(await snapshot(), before);
    const historyAfter = (await daemon.admin('GET', '/v1/history?app=shop&limit=1000'))
      .json<{
        events: { type: string }[];
      }>()
      .events.filter((event) => event.type !== 'audit');
    assert.equal(historyAfter.length, historyBefore.length, 'only audit lines were added');
  });
});
