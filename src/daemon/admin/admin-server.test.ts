import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { DeployRequest, FlipResponse, StatusResponse } from '../../client/api-types.ts';
import { CutoverError } from '../../core/errors.ts';
import type { AdminController, AuditEntry, MutationOptions } from './admin-context.ts';
import { createAdminMetrics } from './admin-metrics.ts';
import { createAdminServer, type AdminServer } from './admin-server.ts';
import { createSqliteStateStore } from '../../adapters/state-store/sqlite/sqlite-state-store.ts';
import { createHistoryFeed, type HistoryFeed } from '../history-feed.ts';
import {
  sampleDeploymentView,
  sampleDrillReport,
  sampleMigrationsContract,
  sampleMigrationsPlan,
} from '../../../test/helpers/admin-fixture.ts';
import { ADMIN_BODY_LIMIT_BYTES } from './read-json-body.ts';
import type { TrafficSnapshot } from '../../ports/traffic-switch.ts';

const TOKEN = 'test-token-0123456789abcdef';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => { error?: { code: string; message: string } } & Record<string, unknown>;
}

function call(
  target: { socketPath: string } | { host: string; port: number },
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: () => JSON.parse(text) as ReturnType<Reply['json']>,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const flipResponse: FlipResponse = {
  app: 'shop',
  from: 'blue',
  to: 'green',
  release: 'v2',
  generation: 8,
  durationMs: 1.5,
};

function fakeController() {
  const calls: { route: string; app: string; body: unknown; opts: MutationOptions }[] = [];
  let failWith: Error | null = null;
  const status: StatusResponse = { revision: 7, generation: 7, apps: [] };
  /** The traffic snapshot each status call was handed (undefined: it reads its own). */
  const statusTraffic: (TrafficSnapshot | undefined)[] = [];
  function record<T>(
    route: string,
    app: string,
    body: unknown,
    opts: MutationOptions,
    result: T,
  ): Promise<T> {
    calls.push({ route, app, body, opts });
    return failWith === null ? Promise.resolve(result) : Promise.reject(failWith);
  }
  const controller: AdminController = {
    revision: 7,
    status: (_app, traffic) => {
      statusTraffic.push(traffic);
      return Promise.resolve(status);
    },
    deploy: (app: string, body: DeployRequest, opts: MutationOptions) =>
      record('deploy', app, body, opts, {
        app,
        release: body.release,
        color: 'green' as const,
        healthMs: 5,
        flip: flipResponse,
      }),
    flip: (app, body, opts) => record('flip', app, body, opts, flipResponse),
    rollback: (app, body, opts) => record('rollback', app, body, opts, flipResponse),
    history: () => Promise.resolve({ events: [] }),
    startDeployment: (app, body, opts) =>
      record('startDeployment', app, body, opts, sampleDeploymentView({ app })),
    getDeployment: (id) => Promise.resolve(sampleDeploymentView({ id })),
    listDeployments: () => Promise.resolve({ deployments: [] }),
    abortDeployment: (id, body, opts) =>
      record('abortDeployment', 'shop', body, opts, sampleDeploymentView({ id })),
    abortApp: (app, body, opts) =>
      record('abortApp', app, body, opts, sampleDeploymentView({ app })),
    drill: (app, body, opts) =>
      record('drill', app, body, opts, sampleDrillReport(app, body.objectiveMs ?? 60_000)),
    migrationsPlan: (app, body) =>
      Promise.resolve(sampleMigrationsPlan({ app, release: body.release })),
    migrationsStatus: (app) => Promise.resolve(sampleMigrationsPlan({ app })),
    migrationsContract: (app, opts) =>
      record('migrationsContract', app, {}, opts, sampleMigrationsContract({ app })),
  };
  return {
    controller,
    calls,
    statusTraffic,
    fail(error: Error | null) {
      failWith = error;
    },
  };
}

describe('admin server', () => {
  let dir: string;
  let server: AdminServer;
  let unix: { socketPath: string };
  let tcp: { host: string; port: number };
  let tcpHost: string;
  const fake = fakeController();
  const audits: AuditEntry[] = [];
  let describes = 0;
  let feed: HistoryFeed;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-admin-'));
    feed = createHistoryFeed(await createSqliteStateStore({ path: join(dir, 'state.db') }));
    server = await createAdminServer({
      socketPath: join(dir, 'admin.sock'),
      tcp: { address: { host: '127.0.0.1', port: 0 }, token: TOKEN },
      logger: pino({ level: 'silent' }),
      context: {
        controller: fake.controller,
        describeTraffic: () => {
          describes += 1;
          return Promise.resolve({
            generation: 7,
            workers: 1,
            apps: {
              shop: {
                blue: { inflight: 2, websockets: 1, requests: 40, failed: 0, serverErrors: 0 },
                green: { inflight: 0, websockets: 0, requests: 3, failed: 1, serverErrors: 0 },
              },
            },
          });
        },
        audit: async (entry) => {
          audits.push(entry);
          await feed.store.appendHistory({
            app: entry.app,
            type: 'audit',
            at: new Date().toISOString(),
            data: { ...entry },
          });
        },
        followHistory: (query, sink) => feed.follow(query, sink),
        metrics: createAdminMetrics(),
        health: () => ({ ok: true, version: '0.0.0', pid: 1, public: 'a:1', preview: 'b:2' }),
      },
    });
    unix = { socketPath: server.socketPath };
    assert.ok(server.tcpAddress !== null);
    tcp = { host: '127.0.0.1', port: server.tcpAddress.port };
    tcpHost = `127.0.0.1:${server.tcpAddress.port}`;
  });

  after(async () => {
    await server.close(1000);
    await feed.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  const json = { 'content-type': 'application/json' };

  it('creates the Unix socket with mode 0600 (D1)', async () => {
    const info = await stat(server.socketPath);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o600);
  });

  it('answers health on the Unix socket without a token', async () => {
    const reply = await call(unix, 'GET', '/v1/health');
    assert.equal(reply.status, 200);
    assert.equal(reply.json().ok, true);
  });

  it('refuses every TCP route without the right token, in one error shape (D2)', async () => {
    for (const path of ['/v1/health', '/v1/status', '/metrics', '/v1/history', '/nope']) {
      const missing = await call(tcp, 'GET', path);
      assert.equal(missing.status, 401, path);
      assert.equal(missing.json().error?.code, 'CUTOVER_ERR_ADMIN_UNAUTHORIZED');
      const wrong = await call(tcp, 'GET', path, { authorization: `Bearer ${TOKEN}x` });
      assert.equal(wrong.status, 401, path);
      const short = await call(tcp, 'GET', path, { authorization: 'Bearer a' });
      assert.equal(short.status, 401, path);
    }
    const mutation = await call(tcp, 'POST', '/v1/apps/shop/flip', json, '{}');
    assert.equal(mutation.status, 401);
    const ok = await call(tcp, 'GET', '/v1/health', auth);
    assert.equal(ok.status, 200);
  });

  it('refuses a foreign Host, a foreign Origin and Origin: null (D3)', async () => {
    const rebinding = await call(tcp, 'GET', '/v1/status', { ...auth, host: 'evil.example:80' });
    assert.equal(rebinding.status, 403);
    assert.equal(rebinding.json().error?.code, 'CUTOVER_ERR_ADMIN_FORBIDDEN');
    const otherPort = await call(tcp, 'GET', '/v1/status', { ...auth, host: '127.0.0.1:1' });
    assert.equal(otherPort.status, 403);
    const nullOrigin = await call(tcp, 'GET', '/v1/status', { ...auth, origin: 'null' });
    assert.equal(nullOrigin.status, 403);
    const foreign = await call(
      tcp,
      'POST',
      '/v1/apps/shop/flip',
      {
        ...auth,
        ...json,
        origin: 'http://evil.example',
      },
      '{}',
    );
    assert.equal(foreign.status, 403);
    const unixOrigin = await call(unix, 'GET', '/v1/status', { origin: 'http://127.0.0.1' });
    assert.equal(unixOrigin.status, 403);
    const own = await call(tcp, 'GET', '/v1/status', { ...auth, origin: `http://${tcpHost}` });
    assert.equal(own.status, 200);
    const localhost = await call(tcp, 'GET', '/v1/status', {
      ...auth,
      host: `localhost:${tcp.port}`,
    });
    assert.equal(localhost.status, 200);
  });

  it('refuses a mutation that is not JSON with 415 and never calls the controller (D3)', async () => {
    const before = fake.calls.length;
    for (const type of [
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ]) {
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      const reply = await call(unix, 'POST', '/v1/apps/shop/flip', headers, '{}');
      assert.equal(reply.status, 415, String(type));
      assert.equal(reply.json().error?.code, 'CUTOVER_ERR_ADMIN_UNSUPPORTED_MEDIA');
    }
    assert.equal(fake.calls.length, before);
  });

  it('routes GET only to reads: a GET to a mutation path is 404 and changes nothing (D3)', async () => {
    const before = fake.calls.length;
    const reply = await call(unix, 'GET', '/v1/apps/shop/flip');
    assert.equal(reply.status, 404);
    assert.equal(reply.json().error?.code, 'CUTOVER_ERR_ADMIN_NOT_FOUND');
    assert.equal(fake.calls.length, before);
  });

  it('refuses an oversize body with 413, declared or chunked (D5)', async () => {
    const big = Buffer.alloc(ADMIN_BODY_LIMIT_BYTES + 1024, 'a');
    const declared = await call(unix, 'POST', '/v1/apps/shop/deploy', json, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json().error?.code, 'CUTOVER_ERR_ADMIN_BODY_TOO_LARGE');
    const chunked = await call(
      unix,
      'POST',
      '/v1/apps/shop/deploy',
      { ...json, 'transfer-encoding': 'chunked' },
      big,
    );
    assert.equal(chunked.status, 413);
  });

  it('validates bodies before the controller sees them', async () => {
    const before = fake.calls.length;
    const badJson = await call(unix, 'POST', '/v1/apps/shop/deploy', json, '{"release":');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json().error?.code, 'CUTOVER_ERR_USAGE');
    const noInstances = await call(
      unix,
      'POST',
      '/v1/apps/shop/deploy',
      json,
      JSON.stringify({ release: 'v1', instances: [] }),
    );
    assert.equal(noInstances.status, 400);
    assert.match(noInstances.json().error?.message ?? '', /instances/);
    const badColor = await call(unix, 'POST', '/v1/apps/shop/flip', json, '{"to":"red"}');
    assert.equal(badColor.status, 400);
    assert.match(badColor.json().error?.message ?? '', /to/);
    const badIfMatch = await call(
      unix,
      'POST',
      '/v1/apps/shop/flip',
      { ...json, 'if-match': 'abc' },
      '{}',
    );
    assert.equal(badIfMatch.status, 400);
    assert.equal(fake.calls.length, before);
  });

  it('passes If-Match and the actor to the controller, and audits the mutation (D4, D5)', async () => {
    const reply = await call(
      unix,
      'POST',
      '/v1/apps/shop/flip',
      { ...json, 'if-match': '"7"', 'x-cutover-actor': 'alice' },
      '{"to":"green"}',
    );
    assert.equal(reply.status, 200);
    const last = fake.calls.at(-1);
    assert.equal(last?.opts.ifMatch, 7);
    assert.equal(last?.opts.actor, 'unix:alice');
    const audit = audits.at(-1);
    assert.equal(audit?.app, 'shop');
    assert.equal(audit?.outcome, 'ok');
    assert.equal(audit?.route, 'POST /v1/apps/shop/flip');
    assert.equal(audit?.actor, 'unix:alice');
  });

  it('maps controller errors to their status and audits the refusal', async () => {
    fake.fail(new CutoverError('CUTOVER_ERR_STATE_CONFLICT', 'stale revision'));
    const stale = await call(unix, 'POST', '/v1/apps/shop/rollback', json, '{}');
    assert.equal(stale.status, 412);
    assert.equal(stale.json().error?.code, 'CUTOVER_ERR_STATE_CONFLICT');
    assert.equal(audits.at(-1)?.outcome, 'CUTOVER_ERR_STATE_CONFLICT');
    fake.fail(new Error('secret internals at /x/y.ts:10'));
    const internal = await call(unix, 'POST', '/v1/apps/shop/rollback', json, '{}');
    assert.equal(internal.status, 500);
    assert.equal(internal.json().error?.code, 'CUTOVER_ERR_INTERNAL');
    assert.doesNotMatch(internal.body, /secret internals|\.ts:/);
    fake.fail(null);
  });

  it('sends the revision as ETag on reads', async () => {
    const reply = await call(unix, 'GET', '/v1/status');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.etag, '"7"');
  });

  it('answers unknown routes with 404 in the one error shape', async () => {
    const reply = await call(unix, 'DELETE', '/v1/apps/shop', json);
    assert.equal(reply.status, 404);
    assert.deepEqual(Object.keys(reply.json()), ['error']);
  });

  it('serves Prometheus metrics with traffic per app and color', async () => {
    const describesBefore = describes;
    fake.statusTraffic.length = 0;
    const reply = await call(unix, 'GET', '/metrics');
    // One scrape asks the router workers once: the status for the shares reuses the snapshot.
    assert.equal(describes - describesBefore, 1);
    assert.equal(fake.statusTraffic.length, 1);
    assert.equal(fake.statusTraffic[0]?.generation, 7);
    assert.equal(reply.status, 200);
    assert.match(reply.headers['content-type'] as string, /text\/plain/);
    assert.match(reply.body, /cutover_requests_total\{app="shop",color="blue"\} 40/);
    assert.match(reply.body, /cutover_inflight_requests\{app="shop",color="blue"\} 2/);
    assert.match(reply.body, /cutover_flips_total\{app="shop",kind="flip"\} 1/);
    assert.match(reply.body, /cutover_flip_duration_seconds_bucket/);
  });

  it('streams history events as server-sent events, live and resumed from Last-Event-ID', async () => {
    const events: { id: string; event: string; data: string }[] = [];
    let raw = '';
    const stream = request({ ...unix, method: 'GET', path: '/v1/events?app=shop' });
    const opened = new Promise<IncomingMessage>((resolve, reject) => {
      stream.on('response', resolve);
      stream.on('error', reject);
    });
    stream.end();
    const res = await opened;
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
    const received = new Promise<void>((resolve) => {
      res.setEncoding('utf8').on('data', (chunk: string) => {
        raw += chunk;
        for (const block of raw.split('\n\n').slice(0, -1)) {
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          ) as { id?: string; event?: string; data?: string };
          if (fields.id !== undefined && !events.some((e) => e.id === fields.id)) {
            events.push({ id: fields.id, event: fields.event ?? '', data: fields.data ?? '' });
          }
        }
        if (events.length >= 2) resolve();
      });
    });
    await call(unix, 'POST', '/v1/apps/shop/flip', json, '{}');
    await call(unix, 'POST', '/v1/apps/other/flip', json, '{}');
    await call(unix, 'POST', '/v1/apps/shop/rollback', json, '{}');
    await received;
    res.destroy();
    assert.deepEqual(
      events.map((e) => e.event),
      ['audit', 'audit'],
    );
    const first = JSON.parse(events[0]?.data ?? '{}') as { app: string; data: { route: string } };
    assert.equal(first.app, 'shop');
    assert.equal(first.data.route, 'POST /v1/apps/shop/flip');

    // Resume after the first event: the second is replayed from the store.
    const resumed = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          ...unix,
          method: 'GET',
          path: '/v1/events?app=shop',
          headers: { 'last-event-id': events[0]?.id ?? '' },
        },
        (reply) => {
          let text = '';
          reply.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
            if (text.includes(`id: ${events[1]?.id ?? 'x'}`)) {
              reply.destroy();
              resolve(text);
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.doesNotMatch(resumed, new RegExp(`id: ${events[0]?.id ?? 'x'}\n`));
  });

  it('refuses a malformed Last-Event-ID', async () => {
    const reply = await call(unix, 'GET', '/v1/events', { 'last-event-id': 'abc' });
    assert.equal(reply.status, 400);
  });
});
