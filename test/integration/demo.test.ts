// `cutover demo --json` end to end (a real daemon, four instances, load, flips), and the hello
// example app the demo deploys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { DemoReport } from '../../src/cli/demo/demo-report.ts';

const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));
const HELLO_SERVER = fileURLToPath(new URL('../../examples/hello/server.js', import.meta.url));
const DEMO_TIMEOUT_MS = 100_000;

function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

void test('the hello example: version, health, WebSocket echo, and a graceful SIGTERM', async () => {
  const child = spawn(process.execPath, [HELLO_SERVER], {
    env: { ...process.env, PORT: '0', VERSION: 'v7', COLOR_NAME: 'green', INSTANCE: 'x' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const ready = JSON.parse(line) as { ready: boolean; port: number };
    assert.equal(ready.ready, true);
    const root = await get(ready.port, '/');
    assert.equal(root.status, 200);
    assert.deepEqual(JSON.parse(root.body), {
      version: 'v7',
      color: 'green',
      instance: 'x',
      pid: child.pid,
    });
    assert.equal((await get(ready.port, '/healthz')).status, 200);
    assert.equal((await get(ready.port, '/nope')).status, 404);

    const socket = new WebSocket(`ws://127.0.0.1:${ready.port}/ws`);
    const messages: string[] = [];
    socket.on('message', (data: Buffer) => messages.push(data.toString()));
    await once(socket, 'open');
    socket.send('ping');
    while (messages.length < 2) await once(socket, 'message');
    assert.equal((JSON.parse(messages[0] ?? '') as { version: string }).version, 'v7');
    assert.equal(messages[1], 'ping');

    // A request in flight at SIGTERM completes; WebSockets get a polite 1001; the process exits 0.
    const slow = get(ready.port, '/slow?ms=300');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = once(socket, 'close') as Promise<[number, Buffer]>;
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill('SIGTERM');
    const answered = await slow;
    assert.equal(answered.status, 200);
    assert.equal((JSON.parse(answered.body) as { slowMs: number }).slowMs, 300);
    assert.equal((await closed)[0], 1001);
    assert.deepEqual(await exited, [0, null]);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

void test('cutover demo --json: zero failed requests over deploys and rollbacks under load', async () => {
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, 'demo', '--json', '--flips', '6', '--requests', '2000'],
      { timeout: DEMO_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
  assert.equal(run.code, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as DemoReport;
  assert.equal(report.ok, true);
  assert.equal(report.requests.failed, 0, report.requests.errorSamples.join('\n'));
  assert.equal(report.requests.misrouted, 0);
  assert.ok(report.requests.total >= 2000, `only ${report.requests.total} requests`);
  assert.equal(report.requests.ok, report.requests.total);
  assert.ok(report.requests.newConnections > 0, 'some requests used a new connection');
  assert.ok(report.requests.posts > 0, 'some requests were POSTs with a body');
  // Both releases served a share of the load.
  assert.ok((report.requests.byRelease.v1 ?? 0) > 0, JSON.stringify(report.requests.byRelease));
  assert.ok((report.requests.byRelease.v2 ?? 0) > 0, JSON.stringify(report.requests.byRelease));
  assert.ok(report.requests.checkedAfterFlip > 0);
  assert.deepEqual(
    report.deploys.map((d) => [d.release, d.color, d.underLoad]),
    [
      ['v1', 'blue', false],
      ['v2', 'green', true],
    ],
  );
  assert.equal(report.flips.count, 6);
  assert.ok(
    report.flips.minMs <= report.flips.medianMs && report.flips.medianMs <= report.flips.maxMs,
  );
  // A sanity bound only: this machine is shared and noisy; bench/rollback measures flip time.
  assert.ok(
    report.flips.minMs > 0 && report.flips.maxMs < 5000,
    `a flip took ${report.flips.maxMs} ms`,
  );
  assert.match(report.daemon.public, /^http:\/\/127\.0\.0\.1:\d+$/);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

void test('cutover demo stops the daemon and the instances it started when interrupted', async () => {
  const demo = spawn(process.execPath, [CUTOVER_BIN, 'demo', '--requests', '1000000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const progress = createInterface({ input: demo.stderr });
    let dataDir: string | undefined;
    for await (const line of progress) {
      dataDir ??= /data dir (\S+)\)/.exec(line)?.[1];
      if (line.startsWith('load:')) break;
    }
    assert.ok(dataDir, 'the demo names its data dir');
    const info = JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8')) as {
      pid: number;
      public: { port: number };
    };
    // The hello app answers with its pid: one live instance, through the daemon's public listener.
    const instancePid = (JSON.parse((await get(info.public.port, '/')).body) as { pid: number })
      .pid;
    assert.ok(isAlive(info.pid) && isAlive(instancePid));

    let stderr = '';
    demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(demo, 'exit') as Promise<[number | null, string | null]>;
    demo.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 1);
    assert.match(
      stderr,
      /interrupted: stopped everything the demo started \(CUTOVER_ERR_DEMO_FAILED\)/,
    );
    assert.ok(!isAlive(info.pid), 'the daemon is stopped');
    assert.ok(!isAlive(instancePid), 'the instance is stopped');
    assert.ok(!existsSync(dataDir), 'the temporary data dir is removed');
  } finally {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  }
});
