// QUALITY.md D1-D3 and D5 against a real `cutover daemon` child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CUTOVER_BIN,
  startTestDaemon,
  type AdminReply,
  type TestDaemon,
} from '../helpers/daemon.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { ADMIN_BODY_LIMIT_BYTES } from '../../src/daemon/admin/read-json-body.ts';

const TOKEN = 'd2-token-5f0c1e9a7b3d4c2e8f6a';
const FAST_HEALTH = { path: '/', intervalMs: 50, timeoutMs: 1000, rise: 1, fall: 2 };

function tcpCall(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<AdminReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function runDaemonExpectingExit(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CUTOVER_BIN, 'daemon', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('admin API on the default Unix socket (D1)', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon.stop();
  });

  it('creates admin.sock 0600 inside a 0700 data dir, and no TCP admin listener', async () => {
    const socket = await stat(join(daemon.dataDir, 'admin.sock'));
    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    const dir = await stat(daemon.dataDir);
    assert.equal(dir.mode & 0o777, 0o700);
    assert.equal(daemon.info.admin.tcp, undefined);
    const info = await stat(join(daemon.dataDir, 'daemon.json'));
    assert.equal(info.mode & 0o777, 0o600);
  });

  it('listens on TCP only for the public and preview ports (Linux /proc)', async () => {
    const inodes = new Set<string>();
    for (const fd of await readdir(`/proc/${daemon.pid}/fd`)) {
      const target = await readlink(`/proc/${daemon.pid}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] !== undefined) inodes.add(match[1]);
    }
    const listening = new Set<number>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const text = await readFile(table, 'utf8').catch(() => '');
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        // Columns: sl local_address rem_address st ... inode (see proc(5)).
        const [, local, , state] = fields;
        const inode = fields[9];
        if (state === '0A' && inode !== undefined && inodes.has(inode) && local !== undefined) {
          listening.add(parseInt(local.split(':')[1] ?? '', 16));
        }
      }
    }
    assert.deepEqual(
      [...listening].sort((a, b) => a - b),
      [daemon.info.public.port, daemon.info.preview.port].sort((a, b) => a - b),
    );
  });

  it('is never reachable through the public or preview listeners, whatever the Host', async () => {
    for (const listener of ['public', 'preview'] as const) {
      for (const host of ['localhost', `127.0.0.1:${daemon.info.public.port}`, 'admin']) {
        for (const path of ['/v1/status', '/v1/health', '/metrics']) {
          const reply = await daemon.get(listener, path, { host });
          assert.notEqual(reply.status, 200, `${listener} ${host} ${path}`);
          assert.doesNotMatch(reply.body, /"revision"|"pid"|cutover_flips_total/);
        }
      }
    }
  });

  it('refuses a request carrying an Origin on the socket (D3)', async () => {
    const reply = await daemon.admin('GET', '/v1/status', { headers: { origin: 'null' } });
    assert.equal(reply.status, 403);
    assert.equal(
      reply.json<{ error: { code: string } }>().error.code,
      'CUTOVER_ERR_ADMIN_FORBIDDEN',
    );
  });
});

describe('admin API startup refusals (D2)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-d2-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses --admin-tcp without a token, with exit 2 and a clear message', () => {
    const result = runDaemonExpectingExit(['--data-dir', dir, '--admin-tcp', '127.0.0.1:0'], {
      CUTOVER_ADMIN_TOKEN: '',
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /token/);
    const noEnv = runDaemonExpectingExit(['--data-dir', dir, '--admin-tcp', '127.0.0.1:0']);
    assert.equal(noEnv.status, 2);
    assert.match(noEnv.stderr, /no default token/);
  });

  it('refuses a non-loopback admin address with exit 2', () => {
    const result = runDaemonExpectingExit(['--data-dir', dir, '--admin-tcp', '0.0.0.0:0'], {
      CUTOVER_ADMIN_TOKEN: TOKEN,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /loopback/);
  });
});

describe('admin API on loopback TCP with a bearer token (D2, D3, D5)', () => {
  let daemon: TestDaemon;
  let port: number;
  let host: string;
  let upstream: Upstream;
  const logDir = { path: '' };

  before(async () => {
    upstream = await startUpstream({ name: 'blue-v1' });
    logDir.path = await mkdtemp(join(tmpdir(), 'cutover-d5-log-'));
    daemon = await startTestDaemon({
      args: [
        '--admin-tcp',
        '127.0.0.1:0',
        '--log-level',
        'trace',
        '--log-file',
        join(logDir.path, 'daemon.log'),
      ],
      env: { CUTOVER_ADMIN_TOKEN: TOKEN, CUTOVER_LOG_LEVEL: 'trace' },
    });
    assert.ok(daemon.info.admin.tcp !== undefined);
    port = daemon.info.admin.tcp.port;
    host = `127.0.0.1:${port}`;
  });
  after(async () => {
    await daemon.stop();
    await upstream.close();
    await rm(logDir.path, { recursive: true, force: true });
  });

  const auth = (): Record<string, string> => ({ authorization: `Bearer ${TOKEN}` });

  it('needs the token on every route, /metrics and /v1/health included', async () => {
    const routes: [string, string][] = [
      ['GET', '/v1/health'],
      ['GET', '/v1/status'],
      ['GET', '/v1/apps/shop'],
      ['GET', '/v1/history'],
      ['GET', '/metrics'],
      ['POST', '/v1/apps/shop/deploy'],
      ['POST', '/v1/apps/shop/flip'],
      ['POST', '/v1/apps/shop/rollback'],
      ['GET', '/no/such/route'],
    ];
    for (const [method, path] of routes) {
      for (const authorization of [
        undefined,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${TOKEN}`,
        'Bearer ',
      ]) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (authorization !== undefined) headers.authorization = authorization;
        const reply = await tcpCall(
          port,
          method,
          path,
          headers,
          method === 'POST' ? '{}' : undefined,
        );
        assert.equal(reply.status, 401, `${method} ${path} ${authorization}`);
        assert.equal(
          reply.json<{ error: { code: string } }>().error.code,
          'CUTOVER_ERR_ADMIN_UNAUTHORIZED',
        );
      }
    }
    const health = await tcpCall(port, 'GET', '/v1/health', auth());
    assert.equal(health.status, 200);
    const metrics = await tcpCall(port, 'GET', '/metrics', auth());
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /cutover_routing_generation/);
  });

  it('refuses a foreign Host (DNS rebinding), a foreign Origin and Origin: null with 403', async () => {
    const cases: Record<string, string>[] = [
      { host: 'evil.example' },
      { host: `evil.example:${port}` },
      { host: `127.0.0.2:${port}` },
      { host, origin: 'null' },
      { host, origin: 'http://evil.example' },
      { host, origin: `https://${host}` },
    ];
    for (const headers of cases) {
      const reply = await tcpCall(port, 'GET', '/v1/status', { ...auth(), ...headers });
      assert.equal(reply.status, 403, JSON.stringify(headers));
    }
    const own = await tcpCall(port, 'GET', '/v1/status', { ...auth(), origin: `http://${host}` });
    assert.equal(own.status, 200);
  });

  it('refuses a mutation that is not JSON with 415, and GET never mutates', async () => {
    const statusBefore = await tcpCall(port, 'GET', '/v1/status', auth());
    const body = JSON.stringify({
      release: 'v1',
      instances: [upstream.address],
      health: FAST_HEALTH,
    });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const reply = await tcpCall(
        port,
        'POST',
        '/v1/apps/shop/deploy',
        { ...auth(), 'content-type': type },
        body,
      );
      assert.equal(reply.status, 415, type);
    }
    for (const path of ['/v1/apps/shop/deploy', '/v1/apps/shop/flip', '/v1/apps/shop/rollback']) {
      const reply = await tcpCall(
        port,
        'GET',
        `${path}?release=v1&instances=${upstream.address}`,
        auth(),
      );
      assert.equal(reply.status, 404, path);
    }
    const statusAfter = await tcpCall(port, 'GET', '/v1/status', auth());
    assert.equal(statusAfter.body, statusBefore.body);
    assert.equal(statusAfter.headers.etag, statusBefore.headers.etag);
    assert.equal(upstream.requests, 0);
  });

  it('refuses an oversize body with 413 and audits every mutation without a secret (D5)', async () => {
    const big = JSON.stringify({
      release: 'v1',
      instances: [upstream.address],
      pad: 'x'.repeat(ADMIN_BODY_LIMIT_BYTES + 1024),
    });
    const tooBig = await tcpCall(
      port,
      'POST',
      '/v1/apps/shop/deploy',
      { ...auth(), 'content-type': 'application/json' },
      big,
    );
    assert.equal(tooBig.status, 413);
    assert.equal(
      tooBig.json<{ error: { code: string } }>().error.code,
      'CUTOVER_ERR_ADMIN_BODY_TOO_LARGE',
    );

    const deploy = await tcpCall(
      port,
      'POST',
      '/v1/apps/shop/deploy',
      { ...auth(), 'content-type': 'application/json', 'x-cutover-actor': 'alice' },
      JSON.stringify({ release: 'v1', instances: [upstream.address], health: FAST_HEALTH }),
    );
    assert.equal(deploy.status, 200, deploy.body);
    const flip = await tcpCall(
      port,
      'POST',
      '/v1/apps/shop/rollback',
      { ...auth(), 'content-type': 'application/json' },
      '{}',
    );
    assert.equal(flip.status, 409, flip.body);

    const history = await tcpCall(port, 'GET', '/v1/history?app=shop&limit=100', auth());
    assert.equal(history.status, 200);
    const audits = history
      .json<{ events: { type: string; data: Record<string, unknown> }[] }>()
      .events.filter((event) => event.type === 'audit');
    const outcomes = audits.map(
      (event) => `${String(event.data.route)} ${String(event.data.outcome)}`,
    );
    assert.ok(outcomes.includes('POST /v1/apps/shop/deploy ok'), outcomes.join('\n'));
    assert.ok(
      outcomes.includes('POST /v1/apps/shop/deploy CUTOVER_ERR_ADMIN_BODY_TOO_LARGE'),
      outcomes.join('\n'),
    );
    assert.ok(
      outcomes.includes('POST /v1/apps/shop/rollback CUTOVER_ERR_ROLLBACK_NO_STANDBY'),
      outcomes.join('\n'),
    );
    assert.ok(audits.some((event) => event.data.actor === 'tcp:alice'));

    // No secret anywhere: not the token, not the wrong tokens tried above.
    await daemon.signal('SIGTERM');
    const texts = [
      await readFile(join(logDir.path, 'daemon.log'), 'utf8'),
      daemon.stdout(),
      daemon.stderr(),
      (await readFile(join(daemon.dataDir, 'state.db'))).toString('latin1'),
      JSON.stringify(daemon.info),
    ];
    const logged = texts[0] ?? '';
    assert.match(logged, /admin request refused/, 'the log file holds the trace-level lines');
    for (const text of texts) {
      assert.ok(
        !text.includes(TOKEN.slice(0, 12)),
        'a token prefix leaked into a log or the state',
      );
    }
  });
});
