// `cutover demo` end to end: a real daemon whose process runtime runs the shop example's
// releases (examples/shop/v1..v6, on a SQLite database) under a steady load, a drill, the
// report; its cleanup on
// Ctrl-C; and the hello example app (examples/hello), which the quickstart's external-runtime
// commands use.
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
/** The whole story takes about 30 s here; the suite's per-test timeout is 120 s. */
const DEMO_TIMEOUT_MS = 110_000;

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

function runCli(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { timeout: DEMO_TIMEOUT_MS, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

void test('cutover demo --json: v1 and v2 live, v3 refused at smoke, v4 rolled back, v5 and v6 refused at schema-check, v7-drift at drift-check, canary v10 live, canary v11 taken back, a drill, 0 failed', async () => {
  const run = await runCli(['demo', '--json', '--rate', '60']);
  assert.equal(run.code, 0, `demo failed:\n${run.stdout}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as DemoReport;
  assert.equal(report.ok, true, JSON.stringify(report.expectations, null, 2));
  assert.ok(report.expectations.length >= 12 && report.expectations.every((e) => e.ok));
  assert.equal(report.app, 'shop');
  assert.match(report.daemon.public, /^http:\/\/127\.0\.0\.1:\d+$/);

  const byRelease = new Map(report.deployments.map((d) => [d.release, d]));
  assert.deepEqual(
    [...byRelease.keys()],
    ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7-drift', 'v10', 'v11'],
  );
  const [v1, v2, v3, v4, v5, v6] = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'].map((release) =>
    byRelease.get(release),
  );
  assert.ok(v1 && v2 && v3 && v4 && v5 && v6);
  assert.equal(v1.outcome, 'succeeded');
  assert.equal(v1.liveAfter, 'v1');
  assert.equal(v2.outcome, 'succeeded');
  assert.equal(v2.liveAfter, 'v2');
  assert.equal(v2.underLoad, true);
  assert.notEqual(v2.to, v1.to, 'v2 went onto the other color');
  assert.ok(v2.flipMs !== null && v2.flipMs >= 0);
  // v3: refused at its smoke check, never flipped to, v2 still live.
  assert.equal(v3.outcome, 'failed');
  assert.equal(v3.failedAt, 'smoke');
  assert.equal(v3.flipped, false);
  assert.ok(!v3.steps.some((s) => s.step === 'flipping'));
  assert.equal(v3.liveAfter, 'v2');
  assert.match(v3.reason ?? '', /smoke/);
  // v4: flipped, its probes failed, flipped back to v2 on its own.
  assert.equal(v4.outcome, 'rolled-back');
  assert.equal(v4.flipped, true);
  assert.equal(v4.failedAt, 'verifying');
  assert.ok(v4.flipBackMs !== null);
  assert.ok(v4.verify !== null && v4.verify.failedProbes > 0);
  assert.equal(v4.liveAfter, 'v2');
  // v1 and v2 migrated the shop's database after a shadow check both releases passed.
  assert.deepEqual(v1.schema?.applied, ['0001_init.sql']);
  assert.deepEqual(v2.schema?.applied, ['0002_add_order_note.sql']);
  assert.deepEqual(v2.schema.shadow?.releases, [
    { release: 'v1', passed: true },
    { release: 'v2', passed: true },
  ]);
  // v5 and v6: refused at the schema check before any instance started; v2 still live.
  for (const refused of [v5, v6]) {
    assert.equal(refused.outcome, 'failed', refused.release);
    assert.equal(refused.failedAt, 'schema-check', refused.release);
    assert.equal(refused.flipped, false);
    assert.ok(!refused.steps.some((s) => s.step === 'starting'), JSON.stringify(refused.steps));
    assert.equal(refused.liveAfter, 'v2');
    assert.equal(refused.schema?.applied, null, 'nothing applied to the real database');
  }
  // v5: the linter's rename-column rule blocks 0003_rename_customer.sql.
  assert.match(v5.reason ?? '', /schema-check.*rename-column/);
  assert.deepEqual(
    v5.schema?.lint.map((f) => [f.rule, f.severity, f.file]),
    [['rename-column', 'error', '0003_rename_customer.sql']],
  );
  // v6: its SQL passes the linter, but the live v2 fails its compat check on the shadow.
  assert.match(v6.reason ?? '', /schema-check.*shadow check.*live release v2 failed/);
  assert.deepEqual(v6.schema?.lint, []);
  assert.equal(v6.schema.shadow?.passed, false);
  assert.deepEqual(v6.schema.shadow.releases, [
    { release: 'v2', passed: false },
    { release: 'v6', passed: true },
  ]);
  assert.match(v6.schema.shadow.failures.join('\n'), /^live release v2 failed .*FAILED v2 POST/m);
  // v7-drift: refused by the drift check before anything started, naming the key.
  const drift = byRelease.get('v7-drift');
  assert.ok(drift);
  assert.equal(drift.outcome, 'failed');
  assert.equal(drift.failedAt, 'drift-check');
  assert.ok(!drift.steps.some((s) => s.step === 'starting'));
  assert.match(drift.reason ?? '', /env\.PAYMENTS_URL/);
  assert.equal(drift.liveAfter, 'v2');
  // v10: live through its canary steps; v11: taken back at a step, never flipped to.
  const [v10, v11] = [byRelease.get('v10'), byRelease.get('v11')];
  assert.ok(v10 && v11);
  assert.equal(v10.outcome, 'succeeded');
  assert.equal(v10.shifted, true);
  assert.equal(v10.flipped, true);
  assert.equal(v10.liveAfter, 'v10');
  assert.equal(v11.outcome, 'rolled-back', v11.reason ?? '');
  assert.equal(v11.shifted, true);
  assert.equal(v11.flipped, false);
  assert.match(v11.reason ?? '', /canary error rate/);
  assert.equal(v11.liveAfter, 'v10');
  // Every deployment reports its steps with durations.
  for (const d of report.deployments) {
    assert.ok(d.steps.length > 3, `${d.release}: ${JSON.stringify(d.steps)}`);
    assert.ok(d.durationMs !== null && d.durationMs > 0);
  }

  const drill = report.drill;
  assert.ok(drill !== null);
  assert.equal(drill.passed, true, drill.reason ?? '');
  assert.ok(drill.rtoMs <= drill.objectiveMs, `RTO ${drill.rtoMs} ms > ${drill.objectiveMs} ms`);
  assert.equal(drill.failedRequests, 0);

  const requests = report.requests;
  assert.ok(requests !== null);
  assert.equal(requests.failed, 0, requests.errorSamples.join('\n'));
  assert.equal(requests.misrouted, 0);
  assert.ok(requests.checkedAfterFlip > 0);
  assert.ok(requests.posts > 0 && requests.newConnections > 0);
  assert.ok((requests.byRelease['v1'] ?? 0) > 0, JSON.stringify(requests.byRelease));
  assert.ok((requests.byRelease['v2'] ?? 0) > 0, JSON.stringify(requests.byRelease));
  for (const release of ['v3', 'v5', 'v6', 'v7-drift']) {
    assert.equal(requests.byRelease[release], undefined, `${release} never served public traffic`);
  }
  assert.ok((requests.byRelease['v10'] ?? 0) > 0, JSON.stringify(requests.byRelease));
  assert.ok((requests.byRelease['v11'] ?? 0) > 0, 'the canary v11 served its share');
  // Only v4's and v11's own errors, in their short time on traffic, are set apart.
  assert.deepEqual(
    Object.keys(requests.tolerated).filter((release) => release !== 'v4' && release !== 'v11'),
    [],
  );
  const tolerated = (requests.tolerated['v4'] ?? 0) + (requests.tolerated['v11'] ?? 0);
  assert.equal(requests.total, requests.ok + tolerated);
});

void test('cutover demo: a stage that does not exist is a usage error naming the stages', async () => {
  const run = await runCli(['demo', '--until', 'v9']);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /--until must be one of v1, v2, drill, v3, v4, v5, v6, v7-drift, v10, v11, got "v9"/,
  );
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Alive and not a zombie: a killed instance whose parent is gone may wait for a slow init. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

void test('cutover demo stops the daemon and the instances its runtime started when interrupted', async () => {
  const demo = spawn(process.execPath, [CUTOVER_BIN, 'demo', '--until', 'v2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const progress = createInterface({ input: demo.stderr });
    let dataDir: string | undefined;
    const seen: string[] = [];
    for await (const line of progress) {
      seen.push(line);
      dataDir ??= /data dir (\S+)\)/.exec(line)?.[1];
      if (line.startsWith('load:')) break;
    }
    assert.ok(dataDir, `the demo names its data dir:\n${seen.join('\n')}`);
    // v1's steps were printed as they ended, then its outcome.
    assert.ok(
      seen.some((line) => /^ {4}✓ starting/.test(line)),
      seen.join('\n'),
    );
    assert.ok(
      seen.some((line) => /-> succeeded; live: v1/.test(line)),
      seen.join('\n'),
    );
    const info = JSON.parse(readFileSync(join(dataDir, 'daemon.json'), 'utf8')) as {
      pid: number;
      public: { port: number };
    };
    // The shop app answers with its pid: one live instance, through the daemon's public listener.
    const instancePid = (JSON.parse((await get(info.public.port, '/')).body) as { pid: number })
      .pid;
    assert.ok(isAlive(info.pid) && isRunning(instancePid));

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
    assert.ok(!isRunning(instancePid), 'the instance is stopped');
    assert.ok(!existsSync(dataDir), 'the temporary data dir is removed');
  } finally {
    if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  }
});
