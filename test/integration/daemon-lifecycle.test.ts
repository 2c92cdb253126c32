// The daemon's process lifecycle against real child processes: usage errors, one daemon per
// data dir, QUALITY.md B5 (SIGTERM under a slow in-flight request) and B6 (kill -9 under load,
// restart on the same data dir and ports: the same color is live, traffic resumes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CUTOVER_BIN, startTestDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const FAST_HEALTH = { path: '/', intervalMs: 50, timeoutMs: 1000, rise: 1, fall: 2 };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, host: string, agent = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host }, agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('daemon flags and the data dir lock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-flags-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 with a message naming the bad flag', () => {
    const cases: [string[], RegExp][] = [
      [['--public', 'nonsense'], /--public/],
      [['--preview', '127.0.0.1:123456'], /--preview/],
      [['--workers', 'zero'], /--workers/],
      [['--log-level', 'chatty'], /--log-level/],
      [['--frobnicate'], /frobnicate/],
    ];
    for (const [args, pattern] of cases) {
      const result = spawnSync(
        process.execPath,
        [CUTOVER_BIN, 'daemon', '--data-dir', dir, ...args],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace for a usage error');
    }
  });

  it('prints usage for --help and exits 0', () => {
    const result = spawnSync(process.execPath, [CUTOVER_BIN, 'daemon', '--help'], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--data-dir/);
  });

  it("refuses a second daemon or a bad start on the same data dir, naming the first one's pid, changing nothing (B4)", async () => {
    const upstream = await startUpstream({ name: 'lock-v1' });
    const first = await startTestDaemon();
    try {
      const deploy = await first.admin('POST', '/v1/apps/lock/deploy', {
        body: { release: 'v1', instances: [upstream.address], health: FAST_HEALTH },
      });
      assert.equal(deploy.status, 200, deploy.body);
      const observe = async () => {
        const status = await first.admin('GET', '/v1/status');
        const routed = await first.get('public', '/', { host: 'lock.test' });
        return `${String(status.headers.etag)} ${routed.status} ${routed.body}`;
      };
      const before = await observe();
      const start = (args: string[]) =>
        spawnSync(process.execPath, [CUTOVER_BIN, 'daemon', '--data-dir', first.dataDir, ...args], {
          encoding: 'utf8',
          timeout: 20_000,
        });
      const second = start(['--public', '127.0.0.1:0', '--preview', '127.0.0.1:0']);
      assert.equal(second.status, 1, second.stderr);
      assert.match(second.stderr, new RegExp(`pid ${first.pid}\\b`));
      assert.match(second.stderr, /CUTOVER_ERR_DAEMON_ALREADY_RUNNING/);
      const invalid = start(['--public', '127.0.0.1:0', '--preview', 'nowhere']);
      assert.equal(invalid.status, 2, invalid.stderr);
      // The first daemon is untouched: same revision, same routing, its files in place.
      assert.equal(await observe(), before);
      assert.equal(await exists(join(first.dataDir, 'daemon.json')), true);
      assert.equal((await first.admin('GET', '/v1/health')).json<{ pid: number }>().pid, first.pid);
    } finally {
      await first.stop();
      await upstream.close();
    }
  });

  it('fails clearly (exit 1) when the public port is taken', async () => {
    const first = await startTestDaemon();
    try {
      const other = await mkdtemp(join(tmpdir(), 'cutover-port-'));
      const result = spawnSync(
        process.execPath,
        [
          CUTOVER_BIN,
          'daemon',
          '--data-dir',
          other,
          '--public',
          `127.0.0.1:${first.info.public.port}`,
          '--preview',
          '127.0.0.1:0',
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      await rm(other, { recursive: true, force: true });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /--public .*EADDRINUSE.*CUTOVER_ERR_DAEMON_LISTEN_FAILED/);
    } finally {
      await first.stop();
    }
  });
});

describe('SIGTERM under a slow in-flight request (B5)', () => {
  let upstream: Upstream;
  let daemon: TestDaemon;
  before(async () => {
    upstream = await startUpstream({ name: 'slow-v1' });
    daemon = await startTestDaemon({ args: ['--shutdown-timeout', '6000'] });
    const deploy = await daemon.admin('POST', '/v1/apps/slow/deploy', {
      body: { release: 'v1', instances: [upstream.address], health: FAST_HEALTH },
    });
    assert.equal(deploy.status, 200, deploy.body);
  });
  after(async () => {
    await daemon.stop();
    await upstream.close();
  });

  it('lets the request finish with Connection: close, then exits 0 before the deadline', async () => {
    const port = daemon.info.public.port;
    // An open admin event stream must not hold the exit until the hard deadline.
    const events = new Promise<string>((resolve, reject) => {
      const req = request(
        { socketPath: daemon.info.admin.socket, path: '/v1/events', method: 'GET' },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('close', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const slow = get(port, '/slow?ms=1500', 'slow.test');
    await delay(300);
    const signalled = performance.now();
    const exited = daemon.signal('SIGTERM');
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'slow-v1');
    assert.equal(reply.headers.connection, 'close');
    const { code, signal } = await exited;
    const tookMs = performance.now() - signalled;
    assert.equal(signal, null);
    assert.equal(code, 0, daemon.stderr());
    assert.ok(tookMs < 4000, `exit took ${tookMs} ms (deadline 6000 ms)`);
    assert.match(await events, /^: cutover history events/);
    assert.equal(await exists(join(daemon.dataDir, 'daemon.json')), false, 'daemon.json removed');
    assert.equal(await exists(join(daemon.dataDir, 'daemon.pid')), false, 'pid lock released');
    await assert.rejects(get(port, '/', 'slow.test'), /ECONNREFUSED/);
  });
});

describe('SIGTERM with a request that never ends (B5 hard deadline)', () => {
  it('ends the hanging request and exits before the shutdown deadline', async () => {
    const upstream = await startUpstream({ name: 'hang-v1' });
    const daemon = await startTestDaemon({ args: ['--shutdown-timeout', '2000'] });
    try {
      const deploy = await daemon.admin('POST', '/v1/apps/hang/deploy', {
        body: { release: 'v1', instances: [upstream.address], health: FAST_HEALTH },
      });
      assert.equal(deploy.status, 200, deploy.body);
      const hanging = get(daemon.info.public.port, '/hang', 'hang.test').then(
        (reply) => `${reply.status}`,
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      );
      await delay(200);
      const signalled = performance.now();
      const { code, signal } = await daemon.signal('SIGTERM');
      const tookMs = performance.now() - signalled;
      assert.equal(signal, null);
      assert.ok(code === 0 || code === 1, String(code));
      assert.ok(tookMs < 2000 + 500, `exit took ${tookMs} ms`);
      // The client is not left hanging: it gets an answer or a closed connection.
      assert.match(await hanging, /^(5\d\d|ECONNRESET|socket hang up)$/);
    } finally {
      await daemon.stop();
      await upstream.close();
    }
  });
});

for (const workers of [1, 2]) {
  describe(`kill -9 under load, then restart (B6, ${workers} router worker${workers === 1 ? '' : 's'})`, () => {
    let blue: Upstream;
    let green: Upstream;
    let daemon: TestDaemon;
    before(async () => {
      [blue, green] = await Promise.all([
        startUpstream({ name: 'v1' }),
        startUpstream({ name: 'v2' }),
      ]);
      daemon = await startTestDaemon({ args: ['--workers', String(workers)] });
      for (const [release, upstream] of [
        ['v1', blue],
        ['v2', green],
      ] as const) {
        const deploy = await daemon.admin('POST', '/v1/apps/shop/deploy', {
          body: { release, instances: [upstream.address], health: FAST_HEALTH },
        });
        assert.equal(deploy.status, 200, deploy.body);
      }
    });
    after(async () => {
      await daemon.stop();
      await Promise.all([blue.close(), green.close()]);
    });

    it('restarts on the same data dir and ports with the same color live, never an empty table', async () => {
      const statusBefore = (await daemon.admin('GET', '/v1/status')).json<{
        revision: number;
        apps: { name: string; live: string; standby: string }[];
      }>();
      assert.equal(statusBefore.apps[0]?.live, 'green');
      const port = daemon.info.public.port;

      // Bounded load: a new connection per request, for at most 8 s or 4000 requests.
      const outcomes = new Map<string, number>();
      let stop = false;
      let sent = 0;
      const loadEnds = performance.now() + 8000;
      const load = (async () => {
        while (!stop && sent < 4000 && performance.now() < loadEnds) {
          sent++;
          const key = await get(port, '/', 'shop.test').then(
            (reply) => `${reply.status} ${reply.body}`,
            (error: NodeJS.ErrnoException) => error.code ?? error.message,
          );
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          if (key !== '200 v2') await delay(2);
        }
      })();

      await delay(300);
      const directBefore = green.requests;
      await daemon.kill9();
      // The apps never stopped: they answer directly while the daemon is down.
      assert.equal((await get(green.port, '/', 'x')).body, 'v2');
      assert.equal((await get(blue.port, '/', 'x')).body, 'v1');
      await delay(200);

      daemon = await daemon.restart({ args: ['--workers', String(workers)] });
      assert.equal(daemon.info.public.port, port, 'the same public port');
      const afterRestart = sent;
      await delay(500);
      stop = true;
      await load;

      const statusAfter = (await daemon.admin('GET', '/v1/status')).json<typeof statusBefore>();
      assert.equal(statusAfter.revision, statusBefore.revision);
      assert.equal(statusAfter.apps[0]?.live, 'green');
      assert.equal(statusAfter.apps[0]?.standby, 'blue');

      // Every answered request was served by the live color: no 421/503 from an empty table while
      // the daemon started; the only failures are refused connections while it was down.
      for (const [key, count] of outcomes) {
        assert.ok(
          key === '200 v2' || key === 'ECONNREFUSED' || key === 'ECONNRESET',
          `${count} x ${key}`,
        );
      }
      assert.ok((outcomes.get('200 v2') ?? 0) > 10, JSON.stringify([...outcomes]));
      assert.ok(sent > afterRestart, 'traffic resumed after the restart');
      assert.ok(green.requests > directBefore);
      const resumed = await get(port, '/', 'shop.test');
      assert.equal(`${resumed.status} ${resumed.body}`, '200 v2');
    });
  });
}
