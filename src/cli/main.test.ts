// runCli in-process against a stand-in admin API on a real Unix socket: exit codes, the human
// output and the --json shapes. test/integration/cli-*.test.ts runs the same against a real daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppStatus, FlipResponse, StatusResponse } from '../client/api-types.ts';
import { runCli } from './main.ts';

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

const SHOP: AppStatus = {
  name: 'shop',
  hosts: [],
  live: 'green',
  standby: 'blue',
  colors: {
    blue: {
      color: 'blue',
      role: 'standby',
      release: 'v1',
      instances: [{ id: 'b1', address: '127.0.0.1:3001', healthy: true }],
      inflight: 0,
      websockets: 0,
      requests: 10,
      failed: 0,
      serverErrors: 0,
    },
    green: {
      color: 'green',
      role: 'live',
      release: 'v2',
      instances: [{ id: 'g1', address: '127.0.0.1:3002', healthy: false }],
      inflight: 3,
      websockets: 1,
      requests: 42,
      failed: 0,
      serverErrors: 0,
    },
  },
  flips: [
    {
      generation: 4,
      from: 'blue',
      to: 'green',
      release: 'v2',
      kind: 'deploy',
      at: '2026-11-26T09:00:00.000Z',
      durationMs: 3.14,
    },
  ],
};

const FLIP: FlipResponse = {
  app: 'shop',
  from: 'green',
  to: 'blue',
  release: 'v1',
  generation: 5,
  durationMs: 2.5,
  drain: { completed: 7, aborted: 0, websocketsClosed: 1, durationMs: 40, cancelled: false },
};

async function withFakeDaemon(
  run: (dataDir: string, bodies: unknown[]) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-cli-'));
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (body !== '') bodies.push(JSON.parse(body));
      const send = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      const status: StatusResponse = { revision: 9, generation: 5, apps: [SHOP] };
      if (req.url === '/v1/status') send(200, status);
      else if (req.url === '/v1/apps/shop') send(200, SHOP);
      else if (req.url === '/v1/apps/shop/rollback') send(200, FLIP);
      else if (req.url === '/v1/apps/shop/flip') send(200, { ...FLIP, drain: undefined });
      else if (req.url?.startsWith('/v1/deployments?') === true) send(200, { deployments: [] });
      else
        send(404, { error: { code: 'CUTOVER_ERR_APP_NOT_FOUND', message: 'no app named "nope"' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'admin.sock'), resolve));
  try {
    await run(dir, bodies);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

void test('usage errors exit 2 with the message on stderr, or as JSON on stdout with --json', async () => {
  const bad = await cli(['flip', 'shop', '--to', 'red']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^cutover: .*'--to <color>'.*blue, green.*\(CUTOVER_ERR_USAGE\)\n$/);
  assert.equal(bad.out, '');
  const json = await cli(['deploy', 'v1', '--app', 'shop', '--instances', 'nope', '--json']);
  assert.equal(json.code, 2);
  assert.deepEqual(JSON.parse(json.out), {
    error: {
      code: 'CUTOVER_ERR_USAGE',
      message:
        '--instances: "nope" is not host:port (like 127.0.0.1:3001 or [::1]:3001, port 1-65535)',
    },
  });
  assert.equal((await cli(['unknown-command'])).code, 2);
  assert.equal((await cli(['status', '--bogus'])).code, 2);
  assert.equal((await cli(['deploy', 'v1', '--instances', '127.0.0.1:1'])).code, 2);
  assert.equal(
    (await cli(['deploy', 'v1', '--app', 'a', '--instances', 'a:1', '--health-timeout', '30']))
      .code,
    2,
  );
  assert.equal((await cli(['history', '--limit', '0'])).code, 2);
  assert.equal((await cli([])).code, 2);
});

void test('help and version exit 0', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /deploy \[options\] <release>/);
  assert.match(help.out, /daemon/);
  assert.equal((await cli(['flip', '--help'])).code, 0);
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(
    version.out,
    `${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`,
  );
});

void test('an absent daemon exits 1 with CUTOVER_ERR_DAEMON_UNREACHABLE naming the data dir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-cli-none-'));
  try {
    const result = await cli(['--data-dir', dir, 'status']);
    assert.equal(result.code, 1);
    assert.ok(result.err.includes(join(dir, 'admin.sock')), result.err);
    assert.match(result.err, /cutover daemon --data-dir/);
    assert.match(result.err, /\(CUTOVER_ERR_DAEMON_UNREACHABLE\)\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('status prints a table per app, and the API JSON with --json', async () => {
  await withFakeDaemon(async (dataDir) => {
    const human = await cli(['status', '--data-dir', dataDir]);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /shop: green is live, catch-all/);
    assert.match(human.out, /green\s+live\s+v2\s+3\s+1\s+42\s+127\.0\.0\.1:3002 DOWN/);
    assert.match(human.out, /blue\s+standby\s+v1\s+0\s+0\s+10\s+127\.0\.0\.1:3001 up/);
    assert.match(human.out, /deploy\s+blue -> green \(v2\)\s+3\.1 ms\s+generation 4/);
    const json = await cli(['--json', '--data-dir', dataDir, 'status', 'shop']);
    assert.deepEqual(JSON.parse(json.out), SHOP);
  });
});

void test('rollback and flip print the flip line, the drain report, and send the flags', async () => {
  await withFakeDaemon(async (dataDir, bodies) => {
    const rolled = await cli(['rollback', 'shop', '--wait-drain', '--data-dir', dataDir]);
    assert.equal(rolled.code, 0, rolled.err);
    assert.match(rolled.out, /^shop: rolled back green -> blue \(v1\) in 2\.5 ms, generation 5\n/);
    assert.match(
      rolled.out,
      /drained green in 40 ms: 7 in-flight completed, 0 ended at the deadline, 1 websockets closed/,
    );
    const flipped = await cli(['flip', 'shop', '--to', 'blue', '--data-dir', dataDir]);
    assert.equal(flipped.out, 'shop: flipped green -> blue (v1) in 2.5 ms, generation 5\n');
    assert.deepEqual(bodies, [{ waitDrain: true }, { to: 'blue', waitDrain: false }]);
  });
});

void test('a refusal from the daemon exits 1 with its code and message', async () => {
  await withFakeDaemon(async (dataDir) => {
    const human = await cli(['flip', 'nope', '--data-dir', dataDir]);
    assert.equal(human.code, 1);
    assert.equal(human.err, 'cutover: no app named "nope" (CUTOVER_ERR_APP_NOT_FOUND)\n');
    const json = await cli(['flip', 'nope', '--data-dir', dataDir, '--json']);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.out), {
      error: { code: 'CUTOVER_ERR_APP_NOT_FOUND', message: 'no app named "nope"' },
    });
  });
});
