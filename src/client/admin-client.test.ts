import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CutoverError } from '../core/errors.ts';
import { createAdminClient } from './admin-client.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (seen: Seen, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function startServer(
  handler: Handler,
  listenOn: string | 0,
): Promise<{ server: Server; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => {
    if (listenOn === 0) server.listen(0, '127.0.0.1', resolve);
    else server.listen(listenOn, resolve);
  });
  return { server, seen };
}

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-client-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('calls the routes over the Unix socket in the data dir with JSON bodies', async () => {
  await withTempDir(async (dir) => {
    const { server, seen } = await startServer(
      (entry, res) => {
        if (entry.url === '/v1/status') json(res, 200, { revision: 3, generation: 2, apps: [] });
        else if (entry.url === '/v1/apps/shop/deploy') {
          json(res, 200, { app: 'shop', release: 'v2', color: 'green', healthMs: 12, flip: {} });
        } else if (entry.url.startsWith('/v1/history')) json(res, 200, { events: [] });
        else
          json(res, 404, { error: { code: 'CUTOVER_ERR_ADMIN_NOT_FOUND', message: 'no route' } });
      },
      join(dir, 'admin.sock'),
    );
    try {
      const client = createAdminClient({ dataDir: dir });
      assert.deepEqual(await client.status(), { revision: 3, generation: 2, apps: [] });
      const deployed = await client.deploy(
        'shop',
        { release: 'v2', instances: ['127.0.0.1:3001'], healthTimeoutMs: 500 },
        { ifMatch: 3 },
      );
      assert.equal(deployed.color, 'green');
      await client.history({ app: 'shop', limit: 5 });
      const post = seen[1];
      assert.ok(post);
      assert.equal(post.method, 'POST');
      assert.equal(post.headers['content-type'], 'application/json');
      assert.equal(post.headers['if-match'], '"3"');
      assert.deepEqual(JSON.parse(post.body), {
        release: 'v2',
        instances: ['127.0.0.1:3001'],
        healthTimeoutMs: 500,
      });
      assert.equal(seen[2]?.url, '/v1/history?app=shop&limit=5');
      assert.equal(seen[0]?.headers.authorization, undefined);
    } finally {
      server.close();
    }
  });
});

void test('turns the error body back into a CutoverError with the same code and message', async () => {
  await withTempDir(async (dir) => {
    const { server } = await startServer(
      (entry, res) => {
        if (entry.url === '/v1/apps/nope') {
          json(res, 404, {
            error: {
              code: 'CUTOVER_ERR_APP_NOT_FOUND',
              message: 'no app "nope"',
              details: { app: 'nope' },
            },
          });
        } else if (entry.url === '/v1/apps/future/flip') {
          json(res, 418, { error: { code: 'CUTOVER_ERR_FROM_THE_FUTURE', message: 'new' } });
        } else {
          res.writeHead(500).end('<html>oops</html>');
        }
      },
      join(dir, 'admin.sock'),
    );
    try {
      const client = createAdminClient({ dataDir: dir });
      await assert.rejects(client.app('nope'), (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'CUTOVER_ERR_APP_NOT_FOUND');
        assert.equal(error.message, 'no app "nope"');
        assert.deepEqual(error.details, { app: 'nope' });
        assert.equal(error.exitCode, 1);
        return true;
      });
      await assert.rejects(client.flip('future', {}), (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'CUTOVER_ERR_INTERNAL');
        assert.match(error.message, /CUTOVER_ERR_FROM_THE_FUTURE/);
        return true;
      });
      await assert.rejects(client.rollback('x', {}), /not JSON/);
    } finally {
      server.close();
    }
  });
});

void test('a missing socket is CUTOVER_ERR_DAEMON_UNREACHABLE naming the data dir and how to start', async () => {
  await withTempDir(async (dir) => {
    const client = createAdminClient({ dataDir: dir });
    await assert.rejects(client.health(), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'CUTOVER_ERR_DAEMON_UNREACHABLE');
      assert.ok(error.message.includes(join(dir, 'admin.sock')), error.message);
      assert.match(error.message, /cutover daemon --data-dir/);
      assert.match(error.message, /ENOENT/);
      return true;
    });
  });
});

void test('TCP: sends the bearer token, and a refused port is unreachable', async () => {
  const { server, seen } = await startServer((_entry, res) => {
    json(res, 200, { ok: true, version: '0.1.0', pid: 1, public: 'a', preview: 'b' });
  }, 0);
  const { port } = server.address() as AddressInfo;
  try {
    const client = createAdminClient({ url: `http://127.0.0.1:${port}`, token: 's3cret' });
    const health = await client.health();
    assert.equal(health.ok, true);
    assert.equal(seen[0]?.headers.authorization, 'Bearer s3cret');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const refused = createAdminClient({ url: `http://127.0.0.1:${port}` });
  await assert.rejects(refused.health(), (error: unknown) => {
    assert.ok(error instanceof CutoverError);
    assert.equal(error.code, 'CUTOVER_ERR_DAEMON_UNREACHABLE');
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
});

void test('a bad admin URL is a usage error', () => {
  assert.throws(() => createAdminClient({ url: 'not a url' }), /not a URL/);
  assert.throws(() => createAdminClient({ url: 'https://127.0.0.1:1' }), /http:\/\//);
});

void test('deployment methods: paths, methods and bodies, with {} as the default abort and drill body', async () => {
  await withTempDir(async (dir) => {
    const view = { id: 'd-7', app: 'shop', release: 'v2', step: 'starting' };
    const { server, seen } = await startServer(
      (entry, res) => {
        if (entry.url === '/v1/apps/shop/deployments') json(res, 202, view);
        else if (entry.url.startsWith('/v1/deployments')) {
          const list = entry.url === '/v1/deployments' || entry.url.startsWith('/v1/deployments?');
          json(res, 200, list ? { deployments: [view] } : view);
        } else if (entry.url === '/v1/apps/shop/drill') {
          json(res, 200, { app: 'shop', passed: true, rtoMs: 4 });
        } else json(res, 200, view);
      },
      join(dir, 'admin.sock'),
    );
    try {
      const client = createAdminClient({ dataDir: dir });
      const body = { release: 'v2', dir: '/srv/shop/v2', config: 'app: shop\n' };
      assert.deepEqual(await client.startDeployment('shop', body), view);
      assert.deepEqual(await client.getDeployment('d-7'), view);
      assert.deepEqual(await client.listDeployments(), { deployments: [view] });
      await client.listDeployments({ app: 'shop', limit: 3 });
      await client.abortDeployment('d-7');
      await client.abortDeployment('d-7', { reason: 'wrong build' });
      await client.abortApp('shop');
      await client.getDeployment('a/b');
      const report = await client.drill('shop');
      assert.equal(report.rtoMs, 4);
      await client.drill('shop', { objectiveMs: 500 });
      assert.deepEqual(
        seen.map((entry) => [entry.method, entry.url, entry.body]),
        [
          ['POST', '/v1/apps/shop/deployments', JSON.stringify(body)],
          ['GET', '/v1/deployments/d-7', ''],
          ['GET', '/v1/deployments', ''],
          ['GET', '/v1/deployments?app=shop&limit=3', ''],
          ['POST', '/v1/deployments/d-7/abort', '{}'],
          ['POST', '/v1/deployments/d-7/abort', '{"reason":"wrong build"}'],
          ['POST', '/v1/apps/shop/abort', '{}'],
          ['GET', '/v1/deployments/a%2Fb', ''],
          ['POST', '/v1/apps/shop/drill', '{}'],
          ['POST', '/v1/apps/shop/drill', '{"objectiveMs":500}'],
        ],
      );
      for (const entry of seen.filter((e) => e.method === 'POST')) {
        assert.equal(entry.headers['content-type'], 'application/json');
      }
    } finally {
      server.close();
    }
  });
});

void test('deployment errors come back as their CutoverError code', async () => {
  await withTempDir(async (dir) => {
    const { server } = await startServer(
      (entry, res) => {
        if (entry.url === '/v1/apps/shop/drill') {
          json(res, 409, {
            error: { code: 'CUTOVER_ERR_DRILL_FAILED', message: 'standby failed' },
          });
        } else {
          json(res, 404, { error: { code: 'CUTOVER_ERR_DEPLOY_NOT_FOUND', message: 'no d-9' } });
        }
      },
      join(dir, 'admin.sock'),
    );
    try {
      const client = createAdminClient({ dataDir: dir });
      await assert.rejects(client.abortDeployment('d-9'), (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'CUTOVER_ERR_DEPLOY_NOT_FOUND');
        assert.equal(error.message, 'no d-9');
        return true;
      });
      await assert.rejects(client.abortApp('shop'), { code: 'CUTOVER_ERR_DEPLOY_NOT_FOUND' });
      await assert.rejects(client.drill('shop'), { code: 'CUTOVER_ERR_DRILL_FAILED' });
    } finally {
      server.close();
    }
  });
});
