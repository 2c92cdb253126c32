import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CommandSmokeCheck, HttpSmokeCheck } from '../core/app-config.ts';
import { runSmokeChecks, valueAtPath } from './smoke.ts';

function http(path: string, extra: Partial<HttpSmokeCheck> = {}): HttpSmokeCheck {
  return {
    kind: 'http',
    path,
    method: 'GET',
    status: 200,
    bodyContains: null,
    json: {},
    timeoutMs: 2_000,
    ...extra,
  };
}

function command(text: string, timeoutMs = 5_000): CommandSmokeCheck {
  return { kind: 'command', command: text, timeoutMs };
}

describe('runSmokeChecks', () => {
  let server: Server;
  let baseUrl = '';
  let releaseDir = '';
  const hosts: string[] = [];
  const hanging = new Set<ServerResponse>();

  before(async () => {
    server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      switch (req.url) {
        case '/':
          res.end('welcome to the shop');
          return;
        case '/fail':
          res.statusCode = 500;
          res.end('boom');
          return;
        case '/json':
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ data: { version: '2', ready: true, count: 3 } }));
          return;
        case '/hang':
          hanging.add(res);
          return;
        case '/hang-body':
          res.writeHead(200);
          res.write('partial');
          hanging.add(res);
          return;
        case '/method':
          res.end(req.method);
          return;
        default:
          res.statusCode = 404;
          res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    releaseDir = await mkdtemp(join(tmpdir(), 'cutover-smoke-'));
    await writeFile(join(releaseDir, 'marker.txt'), 'release-v2\n');
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(releaseDir, { recursive: true, force: true });
  });

  const context = () => ({ baseUrl, host: 'shop.example.com', releaseDir });

  it('passes an HTTP check with the expected status and body, sending the host', async () => {
    const report = await runSmokeChecks(
      [
        http('/', { bodyContains: 'shop' }),
        http('/method', { method: 'POST', bodyContains: 'POST' }),
      ],
      context(),
    );
    assert.equal(report.passed, true, JSON.stringify(report));
    assert.deepEqual(
      report.checks.map((check) => [check.name, check.outcome, check.reason]),
      [
        ['GET /', 'passed', null],
        ['POST /method', 'passed', null],
      ],
    );
    assert.ok(hosts.includes('shop.example.com'));
  });

  it('names the status it got and the one it expected', async () => {
    const report = await runSmokeChecks([http('/fail')], context());
    assert.equal(report.passed, false);
    assert.equal(report.checks[0]?.reason, 'status 500, expected 200');
  });

  it('names the missing text', async () => {
    const report = await runSmokeChecks([http('/', { bodyContains: 'v2 ready' })], context());
    assert.equal(report.checks[0]?.reason, 'body does not contain "v2 ready"');
  });

  it('compares JSON fields by dotted path and names the wrong value', async () => {
    const good = await runSmokeChecks(
      [http('/json', { json: { 'data.version': '2', 'data.ready': true, 'data.count': 3 } })],
      context(),
    );
    assert.equal(good.passed, true, JSON.stringify(good));
    const wrong = await runSmokeChecks([http('/json', { json: { 'data.version': 2 } })], context());
    assert.equal(wrong.checks[0]?.reason, 'JSON field data.version is "2", expected 2');
    const missing = await runSmokeChecks(
      [http('/json', { json: { 'data.build': 'x' } })],
      context(),
    );
    assert.equal(missing.checks[0]?.reason, 'JSON field data.build is missing');
    const notJson = await runSmokeChecks([http('/', { json: { a: 1 } })], context());
    assert.equal(notJson.checks[0]?.reason, 'body is not JSON');
  });

  it('fails a hanging check at its timeout', async () => {
    const report = await runSmokeChecks([http('/hang', { timeoutMs: 200 })], context());
    assert.equal(report.checks[0]?.reason, 'timeout after 200 ms');
    assert.ok((report.checks[0]?.durationMs ?? 0) < 2_000);
  });

  it('fails a check whose body hangs at its timeout', async () => {
    const report = await runSmokeChecks([http('/hang-body', { timeoutMs: 200 })], context());
    assert.equal(report.checks[0]?.reason, 'timeout after 200 ms');
  });

  it('fails a check against a closed port as refused', async () => {
    const report = await runSmokeChecks([http('/')], {
      ...context(),
      baseUrl: 'http://127.0.0.1:1',
    });
    assert.equal(report.checks[0]?.reason, 'connection refused');
  });

  it('runs a command in the release dir with CUTOVER_URL', async () => {
    const report = await runSmokeChecks(
      [command('cat marker.txt && test "$CUTOVER_URL" = "' + baseUrl + '" && echo url-ok')],
      context(),
    );
    assert.equal(report.passed, true, JSON.stringify(report));
    assert.equal(report.checks[0]?.output, 'release-v2\nurl-ok');
  });

  it('reports a failing command with its exit code and last lines only', async () => {
    const report = await runSmokeChecks(
      [command('for i in $(seq 1 50); do echo line $i; done; echo oops >&2; exit 3')],
      context(),
    );
    const check = report.checks[0];
    assert.equal(report.passed, false);
    assert.equal(check?.reason, 'exit code 3');
    const lines = check?.output?.split('\n') ?? [];
    assert.equal(lines.length, 20);
    assert.equal(lines.at(-1), 'oops');
  });

  it('kills a command at its timeout', async () => {
    const report = await runSmokeChecks([command('sleep 30', 300)], context());
    assert.equal(report.checks[0]?.reason, 'timeout after 300 ms');
    assert.ok((report.checks[0]?.durationMs ?? 0) < 3_000);
  });

  it('does not wait for a process the command left behind holding its output', async () => {
    const report = await runSmokeChecks(
      [command('setsid sleep 3 & echo started; exit 0', 10_000)],
      context(),
    );
    assert.equal(report.passed, true, JSON.stringify(report));
    assert.equal(report.checks[0]?.output, 'started');
    assert.ok((report.checks[0]?.durationMs ?? 0) < 2_000);
  });

  it('runs every check and passes only if all pass', async () => {
    const report = await runSmokeChecks([http('/'), http('/fail'), command('true')], context());
    assert.equal(report.passed, false);
    assert.deepEqual(
      report.checks.map((check) => check.outcome),
      ['passed', 'failed', 'passed'],
    );
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const report = await runSmokeChecks([command('sleep 30')], {
      ...context(),
      signal: controller.signal,
    });
    assert.equal(report.checks[0]?.reason, 'stopped');
  });
});

describe('valueAtPath', () => {
  it('follows objects and array indexes', () => {
    assert.deepEqual(valueAtPath({ a: [{ b: null }] }, 'a.0.b'), { present: true, value: null });
    assert.deepEqual(valueAtPath({ a: 1 }, 'a.b'), { present: false });
  });
});
