// The runtimes under the deployment pipeline (issue 3 items 2 and 5): the process runtime's
// instances (own PORT, log file, env with `fromEnv` resolved from the daemon's environment,
// restart with backoff after kill -9), standby retirement after the rollback window, and the
// external runtime's instances deployed through the same pipeline.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { HistoryEntry } from '../../src/client/api-types.ts';
import { httpGet } from '../helpers/daemon.ts';
import {
  errorCode,
  isAlive,
  startedPids,
  startPipelineDaemon,
  waitFor,
  type PipelineDaemon,
} from '../helpers/pipeline-fixture.ts';
import { startUpstream } from '../helpers/upstream.ts';

async function pipeline(
  t: TestContext,
  env?: Readonly<Record<string, string>>,
): Promise<PipelineDaemon> {
  const fx = await startPipelineDaemon(env === undefined ? {} : { env });
  t.after(() => fx.close());
  return fx;
}

const SLOW_APP = `
import { createServer } from 'node:http';
const version = process.env.SHOP_VERSION;
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const ms = url.pathname === '/healthz' ? 0 : Number(url.searchParams.get('ms') ?? 0);
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: 'shop', version, pid: process.pid }));
  }, ms);
});
process.on('SIGTERM', () => {
  if (process.env.IGNORE_TERM !== '1') server.close(() => process.exit(0));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

interface ShopAnswer {
  readonly version: string;
  readonly message: string;
  readonly color: string;
  readonly instance: string;
  readonly pid: number;
}

function eventsOf(events: readonly HistoryEntry[], type: string, id: string): HistoryEntry[] {
  return events.filter((event) => event.type === type && event.data['id'] === id);
}

describe('the runtimes under the pipeline (real daemon, real instances)', () => {
  it('runs each process instance with its own PORT, log file and env, and restarts it after kill -9', async (t) => {
    const message = `hello from the daemon's environment ${process.pid}`;
    const fx = await pipeline(t, { TEST_SHOP_MESSAGE: message });
    const view = await fx.deployAndWait(
      await fx.release('v1', { env: { SHOP_MESSAGE: { fromEnv: 'TEST_SHOP_MESSAGE' } } }),
    );
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');

    const records = await fx.records();
    assert.deepEqual(
      records.map((record) => [record.id, record.release, record.color]),
      [
        ['shop-blue-1', 'v1', 'blue'],
        ['shop-blue-2', 'v1', 'blue'],
      ],
    );
    assert.equal(new Set(records.map((record) => record.port)).size, 2, 'one port each');
    const instancesDir = join(fx.dataDir, 'instances', 'shop');
    for (const record of records) {
      assert.ok(await isAlive(record.pid), `${record.id} runs`);
      const answer = (
        await httpGet({ host: '127.0.0.1', port: record.port }, '/')
      ).json<ShopAnswer>();
      assert.equal(answer.instance, record.id);
      assert.equal(answer.version, 'v1');
      assert.equal(answer.color, 'blue');
      assert.equal(answer.message, message, '`fromEnv` resolved from the daemon environment');
      assert.equal(record.logPath, join(instancesDir, `${record.id}.log`));
      const log = await readFile(record.logPath, 'utf8');
      assert.match(log, new RegExp(`"ready":true,"port":${record.port},`));
      assert.match(log, new RegExp(`"instance":"${record.id}"`));
    }
    assert.deepEqual(
      view.report.start?.instances.map((instance) => hostPort(instance.address).port),
      records.map((record) => record.port),
    );

    // kill -9: the runtime sees the crash, waits its backoff, starts it again on its port.
    const victim = records[0];
    assert.ok(victim !== undefined);
    const killedAtMs = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    const restarted = await waitFor('instance-restarted in the history', async () => {
      const events = await fx.history();
      const crashed = eventsOf(events, 'instance-crashed', victim.id);
      const again = eventsOf(events, 'instance-restarted', victim.id);
      return crashed.length > 0 && again.length > 0 ? { crashed, again } : undefined;
    });
    const crashed = restarted.crashed[0];
    const again = restarted.again[0];
    assert.ok(crashed !== undefined && again !== undefined);
    assert.equal(crashed.data['pid'], victim.pid);
    const restartInMs = Number(crashed.data['restartInMs']);
    assert.ok(restartInMs > 0, `a backoff: ${restartInMs} ms`);
    assert.ok(
      Date.parse(again.at) - killedAtMs >= restartInMs - 50,
      'restarted after its backoff, not at once',
    );
    const newPid = Number(again.data['pid']);
    assert.notEqual(newPid, victim.pid);
    assert.ok(await isAlive(newPid));
    assert.ok(!(await isAlive(victim.pid)));
    const record = (await fx.records()).find((each) => each.id === victim.id);
    assert.equal(record?.pid, newPid);
    assert.equal(record?.port, victim.port, 'the same port again');
    const answer = await waitFor('the restarted instance to answer', async () => {
      const reply = await httpGet({ host: '127.0.0.1', port: victim.port }, '/').catch(() => null);
      return reply?.status === 200 ? reply.json<ShopAnswer>() : undefined;
    });
    assert.equal(answer.instance, victim.id);
    assert.equal(answer.message, message);
    assert.equal(await fx.publicVersion(), 'v1');
  });

  it('retires the standby after its rollback window with after: stop, and keeps it with after: keep', async (t) => {
    const stopping = await pipeline(t);
    const keeping = await pipeline(t);
    const standby = (after: string) => ({ config: { standby: { rollbackWindow: '1s', after } } });
    // Both apps deploy v1 then v2 side by side; each v2 keeps v1 as its standby for 1 s.
    const [stopEnd, keepEnd] = await Promise.all(
      (
        [
          [stopping, 'stop'],
          [keeping, 'keep'],
        ] as const
      ).map(async ([fx, after]) => {
        let standbyAtMs = 0;
        for (const version of ['v1', 'v2']) {
          const view = await fx.deployAndWait(await fx.release(version, standby(after)));
          assert.equal(view.outcome, 'succeeded', view.reason ?? '');
          // The rollback window starts with the standby step.
          standbyAtMs = Date.parse(
            view.steps.find((step) => step.step === 'standby')?.startedAt ?? '',
          );
        }
        return standbyAtMs;
      }),
    );
    assert.ok(stopEnd !== undefined && keepEnd !== undefined);

    // The history entry comes last, once the instances are stopped and the color is empty.
    const entry = await waitFor(
      'the standby to retire',
      async () => (await stopping.history()).find((event) => event.type === 'standby-retired'),
      4_000,
    );
    const retired = await stopping.app();
    assert.equal(retired.standby, null);
    assert.equal(retired.colors.blue.release, null);
    assert.deepEqual(retired.colors.blue.instances, []);
    const v1Pids = startedPids(await stopping.history(), 'blue');
    assert.equal(v1Pids.length, 2);
    for (const pid of v1Pids) {
      await waitFor(`v1 pid ${pid} to exit`, async () => ((await isAlive(pid)) ? undefined : true));
    }
    assert.deepEqual(
      (await stopping.records()).map((record) => record.release),
      ['v2', 'v2'],
    );
    assert.equal(entry.data['release'], 'v1');
    // Retired once the 1 s window ended, and soon after it.
    const retiredAfterMs = Date.parse(entry.at) - stopEnd;
    assert.ok(retiredAfterMs >= 1_000, `retired ${retiredAfterMs} ms into the standby step`);
    assert.ok(retiredAfterMs < 3_000, `retired ${retiredAfterMs} ms into the standby step`);
    const refused = await stopping.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(refused.status, 409, refused.body);
    assert.equal(errorCode(refused), 'CUTOVER_ERR_ROLLBACK_NO_STANDBY');
    assert.equal(await stopping.publicVersion(), 'v2');

    // after: keep, well past the same window: v1 still runs and takes a rollback.
    await delay(Math.max(0, keepEnd + 2_500 - Date.now()));
    const kept = await keeping.app();
    assert.equal(kept.standby, 'blue');
    assert.equal(kept.colors.blue.release, 'v1');
    for (const pid of startedPids(await keeping.history(), 'blue')) {
      assert.ok(await isAlive(pid), `v1 pid ${pid} kept`);
    }
    const rollback = await keeping.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(rollback.status, 200, rollback.body);
    assert.equal(await keeping.publicVersion(), 'v1');
  });

  it('gives the new standby of a manual rollback its own rollback window (after: stop)', async (t) => {
    const fx = await pipeline(t);
    const standby = { config: { standby: { rollbackWindow: '3s', after: 'stop' } } };
    assert.equal((await fx.deployAndWait(await fx.release('v1', standby))).outcome, 'succeeded');
    assert.equal((await fx.deployAndWait(await fx.release('v2', standby))).outcome, 'succeeded');
    // Back to v1 inside v2's window: v2 (green) becomes the standby, and retires 3 s later.
    const rollback = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
    assert.equal(rollback.status, 200, rollback.body);
    const rolledBackAtMs = Date.now();
    const entry = await waitFor(
      'the rolled-back release to retire',
      async () =>
        (await fx.history()).find(
          (event) => event.type === 'standby-retired' && event.data['release'] === 'v2',
        ),
      10_000,
    );
    assert.ok(
      Date.parse(entry.at) - rolledBackAtMs >= 2_900,
      'retired after the window, not before',
    );
    const app = await fx.app();
    assert.equal(app.live, 'blue');
    assert.equal(app.standby, null);
    assert.equal(app.colors.green.release, null);
    assert.equal(await fx.publicVersion(), 'v1');
  });

  it('retires the standby when its window ends even if the daemon was killed meanwhile', async (t) => {
    const fx = await pipeline(t);
    const standby = { config: { standby: { rollbackWindow: '8s', after: 'stop' } } };
    assert.equal((await fx.deployAndWait(await fx.release('v1', standby))).outcome, 'succeeded');
    const v2 = await fx.deployAndWait(await fx.release('v2', standby));
    assert.equal(v2.outcome, 'succeeded', v2.reason ?? '');
    const windowStartMs = Date.parse(
      v2.steps.find((step) => step.step === 'standby')?.startedAt ?? '',
    );
    const v1Pids = startedPids(await fx.history(), 'blue');
    assert.equal(v1Pids.length, 2);
    await fx.restart('SIGKILL');
    assert.ok(Date.now() - windowStartMs < 7_000, 'restarted inside the rollback window');
    // The instances outlived the daemon; the new one re-adopted them and keeps the standby.
    for (const pid of v1Pids) assert.ok(await isAlive(pid), `v1 pid ${pid} survived the kill`);
    const before = await fx.app();
    assert.equal(before.standby, 'blue');
    assert.equal(await fx.publicVersion(), 'v2');

    const entry = await waitFor(
      'the standby to retire after the restart',
      async () => (await fx.history()).find((event) => event.type === 'standby-retired'),
      10_000,
    );
    assert.equal(entry.data['release'], 'v1');
    assert.equal((await fx.app()).standby, null);
    const retiredAfterMs = Date.parse(entry.at) - windowStartMs;
    assert.ok(retiredAfterMs >= 8_000, `retired ${retiredAfterMs} ms into the window of 8 s`);
    assert.ok(retiredAfterMs < 10_500, `retired ${retiredAfterMs} ms into the window of 8 s`);
    for (const pid of v1Pids) {
      await waitFor(`v1 pid ${pid} to exit`, async () => ((await isAlive(pid)) ? undefined : true));
    }
    assert.deepEqual(
      (await fx.records()).map((record) => record.release),
      ['v2', 'v2'],
    );
    assert.equal(await fx.publicVersion(), 'v2');
  });

  it('stops the old release only once its color is drained: SIGTERM, then SIGKILL after the stop timeout', async (t) => {
    const fx = await pipeline(t);
    // An app that answers after ?ms=N and ignores SIGTERM, so its stop needs the SIGKILL.
    const files = { 'slow-app.mjs': SLOW_APP };
    const slow = (version: string) =>
      fx.release(version, {
        files,
        env: { IGNORE_TERM: '1' },
        config: {
          start: 'node slow-app.mjs',
          stop: { signal: 'SIGTERM', timeout: '1s' },
          switch: { probeWindow: '300ms', drainTimeout: '10s' },
          standby: { rollbackWindow: '0ms', after: 'stop' },
        },
      });
    assert.equal((await fx.deployAndWait(await slow('v1'))).outcome, 'succeeded');
    const v2 = await slow('v2');
    // In flight on v1 across the whole deployment of v2.
    const inFlight = httpGet(fx.daemon.info.public, '/?ms=4000').then((reply) => ({
      reply,
      doneAtMs: Date.now(),
    }));
    const view = await fx.deployAndWait(v2);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    const { reply, doneAtMs } = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(reply.json<ShopAnswer>().version, 'v1');
    const flipStep = view.steps.find((step) => step.step === 'flipping');
    assert.ok(Date.parse(flipStep?.endedAt ?? '') < doneAtMs, 'the request spanned the flip');
    assert.ok((view.report.drain?.completed ?? 0) >= 1, JSON.stringify(view.report.drain));

    const stopped = await waitFor('both v1 instances stopped', async () => {
      const events = (await fx.history()).filter(
        (event) =>
          event.type === 'instance-stopped' && String(event.data['id']).startsWith('shop-blue-'),
      );
      return events.length === 2 ? events : undefined;
    });
    for (const event of stopped) {
      assert.equal(event.data['killed'], true, 'SIGTERM was ignored: killed after the timeout');
      assert.ok(Date.parse(event.at) >= doneAtMs, 'stopped after the in-flight request ended');
    }
    for (const pid of startedPids(await fx.history(), 'blue')) assert.ok(!(await isAlive(pid)));
    const v2Answer = (await fx.daemon.get('public', '/')).json<ShopAnswer>();
    assert.equal(v2Answer.version, 'v2');
  });

  it('deploys an external-runtime release at the addresses of servers it did not start', async (t) => {
    const fx = await pipeline(t);
    const servers = await Promise.all(
      ['ext-v1', 'ext-v1', 'ext-v2', 'ext-v2'].map((name) => startUpstream({ name })),
    );
    t.after(() => Promise.all(servers.map((server) => server.close())));
    const external = (version: string) =>
      fx.release(version, {
        config: {
          runtime: 'external',
          start: undefined,
          instances: undefined,
          env: undefined,
          stop: undefined,
          health: { path: '/' },
          smoke: [{ path: '/', status: 200, bodyContains: `ext-${version}` }],
        },
      });
    for (const [version, pair] of [
      ['v1', servers.slice(0, 2)],
      ['v2', servers.slice(2)],
    ] as const) {
      const addresses = pair.map((server) => server.address);
      const view = await fx.deployAndWait(await external(version), addresses);
      assert.equal(view.outcome, 'succeeded', view.reason ?? '');
      assert.deepEqual(
        view.report.start?.instances.map((instance) => instance.address),
        addresses,
      );
      assert.equal((await fx.daemon.get('public', '/')).body, `ext-${version}`);
      for (const server of pair) assert.ok(server.requests > 0, 'each instance was routed to');
    }
    assert.deepEqual(await fx.records(), [], 'no process instances');
    const app = await fx.app();
    assert.equal(app.live, 'green');
    assert.equal(app.standby, 'blue');
  });
});
