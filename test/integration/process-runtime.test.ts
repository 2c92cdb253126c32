// The process runtime against real processes: a tiny node:http app, written here into a temp
// dir and run with this test's node, started detached, re-adopted, stopped and restarted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
} from '../../src/adapters/runtime/process/process-runtime.ts';
import { readProcessStat } from '../../src/adapters/runtime/process/proc-stat.ts';
import { isCutoverError } from '../../src/core/errors.ts';
import type { InstanceSpec } from '../../src/core/types.ts';
import type { InstanceEvent, ProcessStartSpec } from '../../src/ports/runtime.ts';

const WAIT_MS = 10_000;
const PROCESS_RUNTIME_URL = new URL(
  '../../src/adapters/runtime/process/process-runtime.ts',
  import.meta.url,
).href;

const APP_SOURCE = `
const http = require('node:http');
const port = Number(process.env.PORT);
const server = http.createServer((req, res) => {
  if (req.url === '/slow') {
    console.log('slow request began');
    setTimeout(() => res.end('slow done'), 400);
    return;
  }
  if (req.url === '/crash') process.exit(3);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, port, release: process.env.RELEASE,
    instance: process.env.CUTOVER_INSTANCE, color: process.env.CUTOVER_COLOR, cwd: process.cwd() }));
});
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  if (process.env.IGNORE_TERM === '1') return;
  server.close(() => process.exit(0));
});
if (process.env.CRASH_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.CRASH_AFTER_MS));
server.listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

interface AppReply {
  readonly pid: number;
  readonly port: number;
  readonly release: string;
  readonly instance: string;
  readonly color?: string;
  readonly cwd: string;
}

interface Fixture {
  readonly dir: string;
  readonly stateDir: string;
  readonly events: InstanceEvent[];
  readonly pids: Set<number>;
  runtime(options?: Partial<ProcessRuntimeOptions>): ProcessRuntime;
  spec(extra?: Partial<ProcessStartSpec>): ProcessStartSpec;
}

/**
 * process.kill(pid, 0), except for a zombie: an app whose parent shell died is reparented to
 * init, and this container's init reaps slowly; a zombie holds no port and runs no code.
 */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readProcessStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(25);
  }
}

function get(address: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    address.slice(address.lastIndexOf(':') + 1),
  ];
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Answers once the instance listens; connection refused until then. */
async function answer(instance: InstanceSpec): Promise<AppReply> {
  return waitFor(`${instance.id} to answer`, async () => {
    try {
      const reply = await get(instance.address, '/');
      return JSON.parse(reply.body) as AppReply;
    } catch {
      return undefined;
    }
  });
}

async function setUp(t: TestContext): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-process-'));
  await writeFile(join(dir, 'server.js'), APP_SOURCE);
  const stateDir = join(dir, 'state');
  const events: InstanceEvent[] = [];
  const pids = new Set<number>();
  const runtimes: ProcessRuntime[] = [];
  t.after(async () => {
    for (const runtime of runtimes) await runtime.close();
    // Whatever a failed test left behind, kill it; then assert nothing was left.
    const leftovers: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) leftovers.push(pid);
    for (const pid of leftovers) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'no instance process is left behind');
  });
  return {
    dir,
    stateDir,
    events,
    pids,
    runtime(options = {}) {
      const runtime = createProcessRuntime({
        stateDir,
        adoptedPollMs: 50,
        onInstanceEvent: (event) => {
          events.push(event);
          if ('pid' in event) pids.add(event.pid);
        },
        ...options,
      });
      runtimes.push(runtime);
      return runtime;
    },
    spec(extra = {}) {
      return {
        dir,
        command: `"${process.execPath}" server.js`,
        instances: 1,
        env: { RELEASE: 'v1' },
        stopTimeoutMs: 5_000,
        ...extra,
      };
    },
  };
}

void test('starts two instances on their own ports, re-adopts them after a daemon restart, stops them', async (t) => {
  const fx = await setUp(t);
  const first = fx.runtime();
  const instances = await first.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    // exec: the app replaces the shell, so the recorded pid is the app's own.
    process: fx.spec({ instances: 2, command: `exec "${process.execPath}" server.js` }),
  });
  assert.deepEqual(
    instances.map((i) => i.id),
    ['shop-blue-1', 'shop-blue-2'],
  );
  const replies = await Promise.all(instances.map(answer));
  assert.notEqual(replies[0]?.port, replies[1]?.port);
  for (const [index, reply] of replies.entries()) {
    const instance = instances[index];
    assert.ok(instance !== undefined);
    assert.equal(instance.address, `127.0.0.1:${reply.port}`);
    assert.equal(reply.release, 'v1');
    assert.equal(reply.instance, instance.id);
    assert.equal(reply.color, 'blue');
    assert.equal(reply.cwd, fx.dir, 'runs in the release directory');
    fx.pids.add(reply.pid);
  }
  const log = await waitFor('the log line', async () => {
    const text = await readFile(join(fx.stateDir, 'shop', 'shop-blue-1.log'), 'utf8');
    return text.includes('listening on') ? text : undefined;
  });
  assert.match(log, new RegExp(`listening on ${replies[0]?.port}`));
  const pids = instances.map((i) => first.pidOf('shop', i.id));
  assert.deepEqual(
    pids,
    replies.map((r) => r.pid),
  );

  // The daemon goes away: supervision ends, the instances keep serving.
  await first.close();
  assert.deepEqual(await Promise.all(instances.map(answer)), replies);

  const second = fx.runtime();
  const adopted = await second.adopt();
  assert.deepEqual(
    adopted.map((a) => [a.app, a.release, a.color, a.instance, a.pid]),
    instances.map((instance, index) => ['shop', 'v1', 'blue', instance, pids[index]]),
  );
  assert.deepEqual(await second.adopt(), [], 'adopting twice adopts nothing new');

  // An adopted instance is not our child: a kill -9 is found by polling and restarted.
  const victim = adopted[0];
  assert.ok(victim !== undefined);
  process.kill(-victim.pid, 'SIGKILL');
  const restarted = await waitFor('the restart', () =>
    fx.events.find((e) => e.type === 'InstanceRestarted' && e.id === victim.instance.id),
  );
  assert.ok(restarted.type === 'InstanceRestarted');
  assert.notEqual(restarted.pid, victim.pid);
  const again = await answer(victim.instance);
  assert.equal(again.pid, restarted.pid);
  assert.equal(again.port, replies[0]?.port, 'restarted on the same port');

  await second.stop('shop', instances);
  for (const pid of [...fx.pids]) assert.equal(await isAlive(pid), false, `pid ${pid} is gone`);
  assert.equal(existsSync(join(fx.stateDir, 'shop', 'shop-blue-1.json')), false);
  await second.stop('shop', instances);
  assert.deepEqual(await fx.runtime().adopt(), []);
});

void test('instances survive a kill -9 of the daemon that started them and are re-adopted', async (t) => {
  const fx = await setUp(t);
  // The daemon: another node process that starts two instances, says so, and waits.
  const daemonScript = join(fx.dir, 'daemon.mjs');
  await writeFile(
    daemonScript,
    `import { createProcessRuntime } from ${JSON.stringify(PROCESS_RUNTIME_URL)};
const runtime = createProcessRuntime({ stateDir: ${JSON.stringify(fx.stateDir)} });
const instances = await runtime.start(${JSON.stringify({
      app: 'shop',
      release: 'v1',
      color: 'green',
      process: fx.spec({ instances: 2, command: `exec "${process.execPath}" server.js` }),
    })});
console.log(JSON.stringify(instances));
setInterval(() => {}, 1000);
`,
  );
  const daemon = spawn(process.execPath, [daemonScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => daemon.kill('SIGKILL'));
  let out = '';
  daemon.stdout.setEncoding('utf8');
  daemon.stdout.on('data', (chunk: string) => (out += chunk));
  const instances = await waitFor('the daemon to start instances', () =>
    out.includes('\n') ? (JSON.parse(out) as InstanceSpec[]) : undefined,
  );
  const before = await Promise.all(instances.map(answer));
  for (const reply of before) fx.pids.add(reply.pid);

  daemon.kill('SIGKILL');
  await once(daemon, 'exit');
  assert.deepEqual(await Promise.all(instances.map(answer)), before, 'still serving, same pids');

  const runtime = fx.runtime();
  const adopted = await runtime.adopt();
  assert.deepEqual(
    adopted.map((a) => [a.instance, a.pid]),
    instances.map((instance, index) => [instance, before[index]?.pid]),
  );
  await runtime.stop('shop', instances);
  for (const reply of before) assert.equal(await isAlive(reply.pid), false);
});

void test('a new daemon stops an instance from its record alone, and drops the record of a dead one', async (t) => {
  const fx = await setUp(t);
  const spec = fx.spec({ command: `exec "${process.execPath}" server.js` });
  const first = fx.runtime();
  const instances = await first.start({ app: 'shop', release: 'v1', color: 'blue', process: spec });
  const [instance] = instances;
  assert.ok(instance !== undefined);
  const { pid } = await answer(instance);
  fx.pids.add(pid);
  await first.close();
  // Not adopted: the stop finds the instance through its record, and still stops it gracefully.
  // Two stops at once share one: one InstanceStopped.
  const second = fx.runtime();
  await Promise.all([second.stop('shop', instances), second.stop('shop', instances)]);
  assert.equal(await isAlive(pid), false);
  assert.deepEqual(
    fx.events.filter((e) => e.type === 'InstanceStopped'),
    [{ type: 'InstanceStopped', app: 'shop', id: 'shop-blue-1', killed: false }],
  );

  // It dies while no daemon watches: adopt returns nothing and forgets it.
  const again = await second.start({ app: 'shop', release: 'v2', color: 'blue', process: spec });
  const [next] = again;
  assert.ok(next !== undefined);
  const reply = await answer(next);
  fx.pids.add(reply.pid);
  await second.close();
  process.kill(-reply.pid, 'SIGKILL');
  await waitFor('the kill', async () => ((await isAlive(reply.pid)) ? undefined : true));
  assert.deepEqual(await fx.runtime().adopt('shop'), []);
  assert.equal(existsSync(join(fx.stateDir, 'shop', 'shop-blue-1.json')), false);
});

void test('stops gracefully: the app sees the signal and finishes its in-flight request', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime();
  const [instance] = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'green',
    process: fx.spec(),
  });
  assert.ok(instance !== undefined);
  const { pid } = await answer(instance);
  fx.pids.add(pid);
  // No exec here: the shell leads the group and the app is its child, so only the signal to
  // the whole process group reaches the app.
  assert.notEqual(pid, runtime.pidOf('shop', instance.id));
  const logPath = join(fx.stateDir, 'shop', 'shop-green-1.log');
  const slow = get(instance.address, '/slow');
  await waitFor('the slow request', async () =>
    (await readFile(logPath, 'utf8')).includes('slow request began') ? true : undefined,
  );
  await runtime.stop('shop', [instance]);
  assert.deepEqual(await slow, { status: 200, body: 'slow done' });
  assert.match(await readFile(logPath, 'utf8'), /got SIGTERM/);
  assert.equal(await isAlive(pid), false);
  const stopped = fx.events.find((e) => e.type === 'InstanceStopped');
  assert.deepEqual(stopped, {
    type: 'InstanceStopped',
    app: 'shop',
    id: 'shop-green-1',
    killed: false,
  });
});

void test('kills an app that ignores the stop signal once the timeout passes', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime();
  const [instance] = await runtime.start({
    app: 'shop',
    release: 'v1',
    process: fx.spec({ env: { IGNORE_TERM: '1' }, stopTimeoutMs: 300 }),
  });
  assert.ok(instance !== undefined);
  assert.equal(instance.id, 'shop-1');
  const { pid } = await answer(instance);
  fx.pids.add(pid);
  const began = performance.now();
  // Two concurrent stops share one: both resolve, one InstanceStopped is reported.
  await Promise.all([runtime.stop('shop', [instance]), runtime.stop('shop', [instance])]);
  assert.ok(performance.now() - began >= 300, 'waited for the stop timeout');
  assert.equal(await isAlive(pid), false);
  assert.match(await readFile(join(fx.stateDir, 'shop', 'shop-1.log'), 'utf8'), /got SIGTERM/);
  assert.deepEqual(
    fx.events.filter((e) => e.type === 'InstanceStopped'),
    [{ type: 'InstanceStopped', app: 'shop', id: 'shop-1', killed: true }],
  );
});

void test('restarts a crashed instance with backoff and reports a crash loop', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime({
    backoff: { baseDelayMs: 100, maxDelayMs: 400, crashLoopCrashes: 3, crashLoopWindowMs: 60_000 },
  });
  const [instance] = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    process: fx.spec({ command: `exec "${process.execPath}" server.js` }),
  });
  assert.ok(instance !== undefined);
  const first = await answer(instance);
  fx.pids.add(first.pid);

  // One crash: restarted after the base delay, on the same port.
  await get(instance.address, '/crash').catch(() => undefined);
  const restarted = await waitFor('the restart', () =>
    fx.events.find((e) => e.type === 'InstanceRestarted'),
  );
  assert.ok(restarted.type === 'InstanceRestarted');
  const second = await answer(instance);
  assert.equal(second.pid, restarted.pid);
  assert.notEqual(second.pid, first.pid);
  assert.equal(await isAlive(first.pid), false);
  const crash = fx.events.find((e) => e.type === 'InstanceCrashed');
  assert.deepEqual(crash, {
    type: 'InstanceCrashed',
    app: 'shop',
    id: 'shop-blue-1',
    pid: first.pid,
    exitCode: 3,
    signal: null,
    restartInMs: 100,
  });

  // Keep crashing it: the delay doubles to the cap and the loop is reported once.
  for (let crashes = 2; crashes <= 4; crashes += 1) {
    const { pid } = await answer(instance);
    fx.pids.add(pid);
    await get(instance.address, '/crash').catch(() => undefined);
    await waitFor(`restart ${crashes}`, () =>
      fx.events.filter((e) => e.type === 'InstanceRestarted').length >= crashes ? true : undefined,
    );
  }
  const delays = fx.events.flatMap((e) => (e.type === 'InstanceCrashed' ? [e.restartInMs] : []));
  assert.deepEqual(delays, [100, 200, 400, 400]);
  assert.deepEqual(
    fx.events.filter((e) => e.type === 'InstanceCrashLooping'),
    [{ type: 'InstanceCrashLooping', app: 'shop', id: 'shop-blue-1', crashes: 3 }],
  );
  await runtime.stop('shop', [instance]);
  for (const pid of fx.pids) assert.equal(await isAlive(pid), false, `pid ${pid} is gone`);
});

void test('catches a start command that exits at once, and stops restarting it on stop', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime({ backoff: { baseDelayMs: 20, maxDelayMs: 40 } });
  const instances = await runtime.start({
    app: 'shop',
    release: 'v1',
    process: fx.spec({ command: 'exit 7' }),
  });
  await waitFor('three crashes', () =>
    fx.events.filter((e) => e.type === 'InstanceCrashed').length >= 3 ? true : undefined,
  );
  for (const event of fx.events.filter((e) => e.type === 'InstanceCrashed')) {
    assert.ok(event.type === 'InstanceCrashed');
    assert.equal(event.exitCode, 7);
  }
  await runtime.stop('shop', instances);
  const count = fx.events.length;
  await sleep(200);
  assert.equal(fx.events.length, count, 'no restart after the stop');
  assert.equal(existsSync(join(fx.stateDir, 'shop', 'shop-1.json')), false);
});

void test('refuses bad input and a color whose instances still run, naming what to fix', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime();
  const refused = (pattern: RegExp) => (error: unknown) => {
    assert.ok(isCutoverError(error));
    assert.equal(error.code, 'CUTOVER_ERR_USAGE');
    assert.match(error.message, pattern);
    return true;
  };
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v1' }),
    refused(/needs a start command/),
  );
  await assert.rejects(
    runtime.start({
      app: 'shop',
      release: 'v1',
      process: fx.spec({ dir: join(fx.dir, 'absent') }),
    }),
    refused(/absent does not exist/),
  );
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v1', process: fx.spec({ instances: 0 }) }),
    refused(/instances must be a whole number/),
  );
  await assert.rejects(
    runtime.start({ app: '../etc', release: 'v1', process: fx.spec() }),
    refused(/app name/),
  );
  const instances = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    process: fx.spec(),
  });
  const [instance] = instances;
  assert.ok(instance !== undefined);
  fx.pids.add((await answer(instance)).pid);
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v2', color: 'blue', process: fx.spec() }),
    refused(/shop-blue-1 of release v1 still runs/),
  );
  await runtime.stop('shop', instances);
});
