// QUALITY.md E1, E2, E6 against a real daemon and real shop instances: kill -9 the daemon at
// every step boundary of a deployment (CUTOVER_FAILPOINT), and in the middle of the verify
// window, then restart it on the same data dir. Each deployment must end consistent: all
// sampled public traffic on one release, no once-only effect twice (one deploy flip, one
// rollback flip), exactly the live color's instances running and recorded, no orphan process,
// the app lock free again. A plain kill -9 while a release is live re-adopts its instances.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  readInstanceRecords,
  type InstanceRecord,
} from '../../src/adapters/runtime/process/instance-record.ts';
import { isSameProcessAlive } from '../../src/adapters/runtime/process/proc-stat.ts';
import type {
  AppStatus,
  DeploymentListResponse,
  DeploymentView,
  HistoryResponse,
} from '../../src/client/api-types.ts';
import type { Color } from '../../src/core/types.ts';
import { startTestDaemon, type AdminReply, type TestDaemon } from '../helpers/daemon.ts';
import { SHOP_INSTANCES, writeShopRelease, type ShopRelease } from '../helpers/shop-release.ts';
import { killProcessesWithToken, processesWithToken } from '../helpers/token-processes.ts';

const DEPLOY_WAIT_MS = 60_000;
const KILL_WAIT_MS = 30_000;
const POLL_MS = 25;
const HEALTHY_WAIT_MS = 10_000;
const RETIRE_WAIT_MS = 20_000;
const SAMPLE_REQUESTS = 50;
const SAMPLE_CONCURRENCY = 5;
/** Crash cases run side by side, each with its own daemon, data dir and ports. */
const CASE_CONCURRENCY = 4;

/** A daemon, its data dir and the shop releases of one case; `daemon` follows the restarts. */
interface Scenario {
  readonly token: string;
  /** Where the releases' directories are. */
  readonly root: string;
  readonly dataDir: string;
  readonly releases: Readonly<Record<'v1' | CrashRelease, ShopRelease>>;
  daemon: TestDaemon;
}

async function withScenario(run: (scenario: Scenario) => Promise<void>): Promise<void> {
  const token = randomUUID();
  const root = await mkdtemp(join(tmpdir(), 'cutover-crash-releases-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-crash-data-'));
  let scenario: Scenario | undefined;
  try {
    const [v1, v2, v3, v4] = await Promise.all([
      writeShopRelease(root, 'v1', { token }),
      writeShopRelease(root, 'v2', { token }),
      writeShopRelease(root, 'v3', { token, fault: 'broken-catalog' }),
      writeShopRelease(root, 'v4', { token, fault: 'fails-under-traffic' }),
    ]);
    scenario = {
      token,
      root,
      dataDir,
      releases: { v1, v2, v3, v4 },
      daemon: await startTestDaemon({ dataDir, removeDataDirOnStop: false }),
    };
    await run(scenario);
  } finally {
    await scenario?.daemon.stop();
    // The instances are detached from the daemon by design: end every one this case started.
    await killProcessesWithToken(token);
    await rm(root, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what} did not happen within ${ms} ms`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

function startDeployment(daemon: TestDaemon, release: ShopRelease): Promise<AdminReply> {
  return daemon.admin('POST', '/v1/apps/shop/deployments', { body: release.request });
}

async function getDeployment(daemon: TestDaemon, id: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
  assert.equal(reply.status, 200, reply.body);
  return reply.json<DeploymentView>();
}

async function waitUntil(
  daemon: TestDaemon,
  id: string,
  done: (view: DeploymentView) => boolean,
  what: string,
): Promise<DeploymentView> {
  const deadline = Date.now() + DEPLOY_WAIT_MS;
  let view = await getDeployment(daemon, id);
  while (!done(view)) {
    if (Date.now() > deadline) {
      throw new Error(
        `deployment ${id} ${what} not within ${DEPLOY_WAIT_MS} ms: ${JSON.stringify(view)}`,
      );
    }
    await delay(POLL_MS);
    view = await getDeployment(daemon, id);
  }
  return view;
}

function waitEnded(daemon: TestDaemon, id: string): Promise<DeploymentView> {
  return waitUntil(daemon, id, (view) => view.ended, 'ended');
}

async function deployAndWait(daemon: TestDaemon, release: ShopRelease): Promise<DeploymentView> {
  const reply = await startDeployment(daemon, release);
  assert.equal(reply.status, 202, reply.body);
  const view = await waitEnded(daemon, reply.json<DeploymentView>().id);
  assert.equal(view.outcome, 'succeeded', `${release.release}: ${view.reason ?? ''}`);
  return view;
}

/** The deployment of `release` as the daemon lists it (when the kill came before the 202). */
async function findDeployment(daemon: TestDaemon, release: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', '/v1/deployments?app=shop&limit=10');
  assert.equal(reply.status, 200, reply.body);
  const found = reply
    .json<DeploymentListResponse>()
    .deployments.find((each) => each.release === release);
  assert.ok(found, `no deployment of ${release} is stored: ${reply.body}`);
  return found;
}

async function appStatus(daemon: TestDaemon): Promise<AppStatus> {
  const reply = await daemon.admin('GET', '/v1/apps/shop');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<AppStatus>();
}

/** The app's status once every instance of both colors passes its health check again. */
async function waitAllHealthy(daemon: TestDaemon): Promise<AppStatus> {
  const deadline = Date.now() + HEALTHY_WAIT_MS;
  for (;;) {
    const status = await appStatus(daemon);
    const instances = [...status.colors.blue.instances, ...status.colors.green.instances];
    if (instances.every((instance) => instance.healthy)) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `instances not healthy within ${HEALTHY_WAIT_MS} ms: ${JSON.stringify(instances)}`,
      );
    }
    await delay(POLL_MS);
  }
}

/** The `version` of SAMPLE_REQUESTS answers on the public listener, each on a new connection. */
async function sampleVersions(daemon: TestDaemon): Promise<string[]> {
  const versions: string[] = [];
  const worker = async (): Promise<void> => {
    while (versions.length < SAMPLE_REQUESTS) {
      versions.push('pending');
      const index = versions.length - 1;
      const reply = await daemon.get('public', '/');
      assert.equal(reply.status, 200, reply.body);
      versions[index] = reply.json<{ version: string }>().version;
    }
  };
  await Promise.all(Array.from({ length: SAMPLE_CONCURRENCY }, worker));
  return versions;
}

async function assertAllTrafficOn(daemon: TestDaemon, release: string): Promise<void> {
  const versions = await sampleVersions(daemon);
  const others = versions.filter((version) => version !== release);
  assert.deepEqual(others, [], `sampled public traffic not all on ${release}`);
}

async function instanceRecords(dataDir: string): Promise<readonly InstanceRecord[]> {
  const { records, invalid } = await readInstanceRecords(join(dataDir, 'instances', 'shop'));
  assert.deepEqual(invalid, []);
  return records;
}

interface ExpectedEnd {
  readonly liveRelease: string;
  /** The release kept on the other color (succeeded), or null (emptied after a failure). */
  readonly otherRelease: string | null;
  readonly newRelease: string;
  readonly deployFlips: number;
  readonly rollbackFlips: number;
}

/**
 * E1 and E6 at the end of a deployment: one color takes all traffic, the flips happened once,
 * the recorded instances are exactly the colors' releases and all alive, and no process of this
 * case runs without a record.
 */
async function assertConsistentEnd(scenario: Scenario, expected: ExpectedEnd): Promise<void> {
  const { daemon } = scenario;
  const status = await appStatus(daemon);
  assert.ok(status.live !== null, 'no live color');
  const live: Color = status.live;
  const other: Color = live === 'blue' ? 'green' : 'blue';
  assert.equal(status.colors[live].release, expected.liveRelease);
  assert.equal(status.colors[other].release, expected.otherRelease);
  assert.equal(status.colors[live].instances.length, SHOP_INSTANCES);
  const otherCount = expected.otherRelease === null ? 0 : SHOP_INSTANCES;
  assert.equal(status.colors[other].instances.length, otherCount);
  await assertAllTrafficOn(daemon, expected.liveRelease);

  const flipsOf = (kind: string): number =>
    status.flips.filter((flip) => flip.kind === kind && flip.release === expected.newRelease)
      .length;
  assert.equal(flipsOf('deploy'), expected.deployFlips, JSON.stringify(status.flips));
  const rollbacks = status.flips.filter((flip) => flip.kind === 'rollback');
  assert.equal(rollbacks.length, expected.rollbackFlips, JSON.stringify(status.flips));

  const records = await instanceRecords(scenario.dataDir);
  const inLive = records.filter((record) => record.color === live);
  const inOther = records.filter((record) => record.color === other);
  assert.equal(records.length, inLive.length + inOther.length, JSON.stringify(records));
  assert.equal(inLive.length, SHOP_INSTANCES, JSON.stringify(records));
  assert.ok(inLive.every((record) => record.release === expected.liveRelease));
  assert.deepEqual(
    inLive.map((record) => `${record.host}:${record.port}`).sort(),
    status.colors[live].instances.map((instance) => instance.address).sort(),
  );
  if (expected.otherRelease === null) {
    assert.equal(inOther.length, 0, JSON.stringify(inOther));
  } else {
    assert.equal(inOther.length, SHOP_INSTANCES, JSON.stringify(records));
    assert.ok(inOther.every((record) => record.release === expected.otherRelease));
  }
  for (const record of records) {
    assert.ok(
      await isSameProcessAlive(record.pid, record.startTimeTicks),
      `instance ${record.id} (pid ${record.pid}) is recorded but not running`,
    );
  }
  const groups = new Set(records.map((record) => record.pgid));
  const orphans = (await processesWithToken(scenario.token)).filter(
    (each) => !groups.has(each.pgid),
  );
  assert.deepEqual(orphans, [], 'processes of this case run without an instance record');
}

/** E2 after the end: the app lock is free, a new deployment is accepted. */
async function assertLockFree(scenario: Scenario): Promise<void> {
  const reply = await startDeployment(scenario.daemon, scenario.releases.v1);
  assert.equal(reply.status, 202, reply.body);
}

type CrashRelease = 'v2' | 'v3' | 'v4';

interface CrashCase {
  readonly failpoint: string;
  /** Failpoints of the next daemons: each resumes the deployment and dies again there. */
  readonly thenAt: readonly string[];
  readonly release: CrashRelease;
  /** What was deployed before, in order (the last one live): v1, or v1 then v2 (v1 standby). */
  readonly before: readonly ('v1' | 'v2')[];
  /** The kill came once the outcome was stored: nothing is left to resume. */
  readonly endedAtKill: boolean;
  readonly outcome: 'succeeded' | 'failed' | 'rolled-back';
  readonly end: ExpectedEnd;
}

/** How `release` must end after `before`, whatever the kill (E1, E4, E6). */
function expectedOf(
  release: CrashRelease,
  before: readonly ('v1' | 'v2')[],
): Pick<CrashCase, 'outcome' | 'end'> {
  const live = before.at(-1) ?? 'v1';
  if (release === 'v2') {
    return {
      outcome: 'succeeded',
      end: {
        liveRelease: 'v2',
        otherRelease: live,
        newRelease: 'v2',
        deployFlips: 1,
        rollbackFlips: 0,
      },
    };
  }
  // A failed release leaves its color empty: the standby it replaced is gone too.
  const flipped = release === 'v4';
  return {
    outcome: flipped ? 'rolled-back' : 'failed',
    end: {
      liveRelease: live,
      otherRelease: null,
      newRelease: release,
      deployFlips: flipped ? 1 : 0,
      rollbackFlips: flipped ? 1 : 0,
    },
  };
}

function cases(
  release: CrashRelease,
  failpoints: readonly string[],
  before: readonly ('v1' | 'v2')[] = ['v1'],
): CrashCase[] {
  return failpoints.map((failpoint) => ({
    failpoint,
    thenAt: [],
    release,
    before,
    endedAtKill: /^persisted:(succeeded|failed|rolled-back)$/.test(failpoint),
    ...expectedOf(release, before),
  }));
}

// Every step boundary with an effect that acts; the drift, schema and migration steps are hooks
// that return at once here (issues 4 and 5), so their boundaries add nothing yet.
const CRASH_CASES: readonly CrashCase[] = [
  ...cases('v2', [
    'persisted:resolving',
    'effect-done:resolve-idle',
    'persisted:starting',
    'effect-done:start-instances',
    'persisted:smoke',
    'effect-done:smoke',
    'persisted:warmup',
    'effect-done:warm-up',
    'persisted:flipping',
    'effect-done:flip',
    'persisted:verifying',
    'effect-done:verify',
    'persisted:draining',
    'effect-done:drain',
    'persisted:standby',
    'effect-done:release-lock',
    'persisted:succeeded',
  ]),
  ...cases('v3', ['effect-done:smoke', 'persisted:cleaning-up', 'effect-done:stop-instances']),
  ...cases('v4', [
    'effect-done:verify',
    'persisted:rolling-back',
    'effect-done:flip-back',
    'persisted:cleaning-up',
    'effect-done:drain',
    'effect-done:stop-instances',
    'effect-done:release-lock',
    'persisted:rolled-back',
  ]),
  // The idle color holds the standby: resolving retires it first (drain, stop, empty).
  ...cases('v3', ['persisted:resolving', 'effect-done:resolve-idle'], ['v1', 'v2']),
  // A resumed deployment killed again: the journal and the lock take-over hold across resumes.
  ...chained('v2', ['persisted:starting', 'effect-done:start-instances', 'effect-done:flip']),
  ...chained('v4', ['effect-done:verify', 'persisted:rolling-back', 'effect-done:flip-back']),
];

/** One case killed at each failpoint in turn, by successive daemons. */
function chained(release: CrashRelease, failpoints: readonly string[]): CrashCase[] {
  const [first, ...rest] = failpoints;
  if (first === undefined) return [];
  return cases(release, [first]).map((crash) => ({ ...crash, thenAt: rest }));
}

/**
 * A daemon on `dead`'s data dir and ports that resumes the deployment and kills itself at
 * `failpoint`, possibly before it is ready (a resumed step may reach it at once).
 */
async function resumeAndDieAt(dead: TestDaemon, failpoint: string): Promise<void> {
  const daemon = await dead
    .restart({ env: { CUTOVER_FAILPOINT: failpoint } })
    .catch((error: unknown) => {
      const text = String(error);
      if (/exited before it was ready \(code null, signal SIGKILL\)/.test(text)) {
        assert.ok(text.includes(`"failpoint":"${failpoint}","msg":"failpoint reached`), text);
        return null;
      }
      throw error;
    });
  if (daemon !== null) await waitKilled(daemon, failpoint);
}

async function waitKilled(daemon: TestDaemon, failpoint: string): Promise<void> {
  const exit = await within(daemon.exited(), KILL_WAIT_MS, `the kill at ${failpoint}`).catch(
    async (error: unknown) => {
      const list = await daemon.admin('GET', '/v1/deployments?app=shop&limit=10');
      throw new Error(`${String(error)}; deployments: ${list.body}`);
    },
  );
  assert.equal(exit.signal, 'SIGKILL', daemon.stderr());
}

/** `before` deployed, then `release` by a daemon that kills itself at `failpoint`; restarted. */
async function crashAndResume(scenario: Scenario, crash: CrashCase): Promise<DeploymentView> {
  for (const release of crash.before) {
    await deployAndWait(scenario.daemon, scenario.releases[release]);
  }
  // The failpoint is read at start: restart with it once the setup is live.
  await scenario.daemon.signal('SIGTERM');
  const doomed = await scenario.daemon.restart({ env: { CUTOVER_FAILPOINT: crash.failpoint } });
  scenario.daemon = doomed;
  // The earliest failpoints fire before the 202 is sent: then the connection just closes.
  const reply = await startDeployment(doomed, scenario.releases[crash.release]).catch(() => null);
  if (reply !== null) assert.equal(reply.status, 202, reply.body);
  await waitKilled(doomed, crash.failpoint);
  for (const failpoint of crash.thenAt) await resumeAndDieAt(doomed, failpoint);
  scenario.daemon = await doomed.restart();
  const id =
    reply === null
      ? (await findDeployment(scenario.daemon, crash.release)).id
      : reply.json<DeploymentView>().id;
  return waitEnded(scenario.daemon, id);
}

function titleOf(crash: CrashCase): string {
  const after = crash.before.length > 1 ? ` (after ${crash.before.join(', ')})` : '';
  const { end } = crash;
  const other = end.otherRelease === null ? 'the other color empty' : `${end.otherRelease} standby`;
  const kills = [crash.failpoint, ...crash.thenAt].join(', then at ');
  return `${crash.release}${after}, kill at ${kills}: ${crash.outcome}, 100 % ${end.liveRelease}, ${other}`;
}

describe(
  'kill -9 of the daemon at each step boundary of a deployment',
  {
    concurrency: CASE_CONCURRENCY,
  },
  () => {
    for (const crash of CRASH_CASES) {
      it(titleOf(crash), async () => {
        await withScenario(async (scenario) => {
          const view = await crashAndResume(scenario, crash);
          assert.equal(view.outcome, crash.outcome, view.reason ?? '');
          if (crash.endedAtKill) assert.equal(view.resumes, 0);
          else assert.ok(view.resumes >= 1 + crash.thenAt.length, `resumes: ${view.resumes}`);
          await assertConsistentEnd(scenario, crash.end);
          await assertLockFree(scenario);
        });
      });
    }

    it('a kill in the middle of the verify window ends consistent, and the resumed deployment keeps the lock', async () => {
      await withScenario(async (scenario) => {
        await deployAndWait(scenario.daemon, scenario.releases.v1);
        const reply = await startDeployment(scenario.daemon, scenario.releases.v2);
        assert.equal(reply.status, 202, reply.body);
        const { id } = reply.json<DeploymentView>();
        await waitUntil(scenario.daemon, id, (view) => view.step === 'verifying', 'verifying');
        await scenario.daemon.kill9();
        scenario.daemon = await scenario.daemon.restart();

        // E2: the resumed deployment holds the app; a second one is refused naming it.
        const second = await startDeployment(scenario.daemon, scenario.releases.v1);
        assert.equal(second.status, 409, second.body);
        const { error } = second.json<{ error: { code: string; message: string } }>();
        assert.equal(error.code, 'CUTOVER_ERR_APP_LOCKED');
        assert.match(error.message, new RegExp(id));

        const view = await waitEnded(scenario.daemon, id);
        assert.ok(view.resumes >= 1, `resumes: ${view.resumes}`);
        assert.ok(
          view.outcome === 'succeeded' || view.outcome === 'rolled-back',
          `${view.outcome}: ${view.reason ?? ''}`,
        );
        const succeeded = view.outcome === 'succeeded';
        await assertConsistentEnd(scenario, {
          liveRelease: succeeded ? 'v2' : 'v1',
          otherRelease: succeeded ? 'v1' : null,
          newRelease: 'v2',
          deployFlips: 1,
          rollbackFlips: succeeded ? 0 : 1,
        });
        await assertLockFree(scenario);
      });
    });

    it('refuses a concurrent deployment naming its holder, and re-adopts the live instances after a plain kill -9', async () => {
      await withScenario(async (scenario) => {
        const { v1, v2 } = scenario.releases;
        await deployAndWait(scenario.daemon, v1);
        const reply = await startDeployment(scenario.daemon, v2);
        assert.equal(reply.status, 202, reply.body);
        const { id } = reply.json<DeploymentView>();
        const second = await startDeployment(scenario.daemon, v1);
        assert.equal(second.status, 409, second.body);
        const { error } = second.json<{ error: { code: string; message: string } }>();
        assert.equal(error.code, 'CUTOVER_ERR_APP_LOCKED');
        assert.match(error.message, new RegExp(id));
        const view = await waitEnded(scenario.daemon, id);
        assert.equal(view.outcome, 'succeeded', view.reason ?? '');
        assert.equal(view.resumes, 0);
        const expected = {
          liveRelease: 'v2',
          otherRelease: 'v1',
          newRelease: 'v2',
          deployFlips: 1,
          rollbackFlips: 0,
        };
        await assertConsistentEnd(scenario, expected);

        const before = await appStatus(scenario.daemon);
        const recordsBefore = await instanceRecords(scenario.dataDir);
        await scenario.daemon.kill9();
        scenario.daemon = await scenario.daemon.restart();
        // B6: routed from the first request, before the health checks have risen again.
        await assertAllTrafficOn(scenario.daemon, 'v2');
        // Health is checked afresh after a restart: wait until the adopted instances rose again.
        const after = await waitAllHealthy(scenario.daemon);
        assert.deepEqual(
          { ...after, colors: withoutCounters(after), deployment: null },
          { ...before, colors: withoutCounters(before), deployment: null },
        );
        const recordsAfter = await instanceRecords(scenario.dataDir);
        const identity = (records: readonly InstanceRecord[]): string[] =>
          records.map((each) => `${each.id} ${each.pid} ${each.startTimeTicks}`).sort();
        assert.deepEqual(identity(recordsAfter), identity(recordsBefore));
        await assertConsistentEnd(scenario, expected);

        const rollback = await scenario.daemon.admin('POST', '/v1/apps/shop/rollback', {
          body: {},
        });
        assert.equal(rollback.status, 200, rollback.body);
        await assertAllTrafficOn(scenario.daemon, 'v1');
        const rolled = await appStatus(scenario.daemon);
        assert.equal(rolled.live, before.standby);
      });
    });

    it('retires the standby when its rollback window ends, across a kill -9 of the daemon', async () => {
      await withScenario(async (scenario) => {
        const { root, token } = scenario;
        const options = { token, retireStandbyAfter: '8s' };
        const v1 = await writeShopRelease(root, 'v1-retiring', options);
        const v2 = await writeShopRelease(root, 'v2-retiring', options);
        await deployAndWait(scenario.daemon, v1);
        await deployAndWait(scenario.daemon, v2);
        // The window's timer died with the daemon: the next one sets it again from the record.
        await scenario.daemon.kill9();
        scenario.daemon = await scenario.daemon.restart();
        assert.equal((await appStatus(scenario.daemon)).colors.blue.release, 'v1-retiring');
        const status = await waitStandbyRetired(scenario);
        assert.equal(status.live, 'green');
        assert.equal(status.colors.blue.release, null);
        await assertConsistentEnd(scenario, {
          liveRelease: 'v2-retiring',
          otherRelease: null,
          newRelease: 'v2-retiring',
          deployFlips: 1,
          rollbackFlips: 0,
        });
        const history = await scenario.daemon.admin('GET', '/v1/history?app=shop&limit=500');
        const retired = history
          .json<HistoryResponse>()
          .events.filter((event) => event.type === 'standby-retired');
        assert.equal(retired.length, 1, history.body);
        assert.equal(retired[0]?.data['release'], 'v1-retiring');
      });
    });
  },
);

/** The standby's instances stopped and its color emptied; bounded by RETIRE_WAIT_MS. */
async function waitStandbyRetired(scenario: Scenario): Promise<AppStatus> {
  const deadline = Date.now() + RETIRE_WAIT_MS;
  for (;;) {
    const status = await appStatus(scenario.daemon);
    const records = await instanceRecords(scenario.dataDir);
    if (status.standby === null && records.length === SHOP_INSTANCES) return status;
    if (Date.now() > deadline) {
      throw new Error(
        `the standby was not retired within ${RETIRE_WAIT_MS} ms: ${JSON.stringify(status.colors)}`,
      );
    }
    await delay(POLL_MS);
  }
}

/** A color's status without its traffic counters (they restart at zero with the daemon). */
function withoutCounters(status: AppStatus): Record<string, unknown> {
  const strip = (color: Color): Record<string, unknown> => {
    const {
      requests: _requests,
      inflight: _inflight,
      websockets: _ws,
      ...rest
    } = status.colors[color];
    return rest;
  };
  return { blue: strip('blue'), green: strip('green') };
}
