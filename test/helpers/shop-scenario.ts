// One crash-test case of the shop app: a real daemon on its own data dir and ports, the shop
// releases v1..v4 written for it (test/helpers/shop-release.ts), and the checks that a
// deployment ended consistent (QUALITY.md E1, E2, E6). Every process its daemons start carries
// the case's token, so the case ends them all, recorded or not.
//
//   await withScenario(async (scenario) => {
//     await deployAndWait(scenario.daemon, scenario.releases.v1);
//     await assertConsistentEnd(scenario, { liveRelease: 'v1', ... });
//   });
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
} from '../../src/client/api-types.ts';
import type { Color } from '../../src/core/types.ts';
import { startTestDaemon, type AdminReply, type TestDaemon } from './daemon.ts';
import { SHOP_INSTANCES, writeShopRelease, type ShopRelease } from './shop-release.ts';
import { killProcessesWithToken, processesWithToken } from './token-processes.ts';

const DEPLOY_WAIT_MS = 60_000;
const POLL_MS = 25;
const HEALTHY_WAIT_MS = 10_000;
const RETIRE_WAIT_MS = 20_000;
const SAMPLE_REQUESTS = 50;
const SAMPLE_CONCURRENCY = 5;

/** A daemon, its data dir and the shop releases of one case; `daemon` follows the restarts. */
export interface Scenario {
  readonly token: string;
  /** Where the releases' directories are. */
  readonly root: string;
  readonly dataDir: string;
  readonly releases: Readonly<Record<'v1' | 'v2' | 'v3' | 'v4', ShopRelease>>;
  daemon: TestDaemon;
}

export async function withScenario(run: (scenario: Scenario) => Promise<void>): Promise<void> {
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

export function startDeployment(daemon: TestDaemon, release: ShopRelease): Promise<AdminReply> {
  return daemon.admin('POST', '/v1/apps/shop/deployments', { body: release.request });
}

export async function getDeployment(daemon: TestDaemon, id: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
  assert.equal(reply.status, 200, reply.body);
  return reply.json<DeploymentView>();
}

export async function waitUntil(
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

export function waitEnded(daemon: TestDaemon, id: string): Promise<DeploymentView> {
  return waitUntil(daemon, id, (view) => view.ended, 'ended');
}

export async function deployAndWait(
  daemon: TestDaemon,
  release: ShopRelease,
): Promise<DeploymentView> {
  const reply = await startDeployment(daemon, release);
  assert.equal(reply.status, 202, reply.body);
  const view = await waitEnded(daemon, reply.json<DeploymentView>().id);
  assert.equal(view.outcome, 'succeeded', `${release.release}: ${view.reason ?? ''}`);
  return view;
}

/** The deployment of `release` as the daemon lists it (when the kill came before the 202). */
export async function findDeployment(daemon: TestDaemon, release: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', '/v1/deployments?app=shop&limit=10');
  assert.equal(reply.status, 200, reply.body);
  const found = reply
    .json<DeploymentListResponse>()
    .deployments.find((each) => each.release === release);
  assert.ok(found, `no deployment of ${release} is stored: ${reply.body}`);
  return found;
}

export async function appStatus(daemon: TestDaemon): Promise<AppStatus> {
  const reply = await daemon.admin('GET', '/v1/apps/shop');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<AppStatus>();
}

/** The app's status once every instance of both colors passes its health check again. */
export async function waitAllHealthy(daemon: TestDaemon): Promise<AppStatus> {
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
export async function sampleVersions(daemon: TestDaemon): Promise<string[]> {
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

export async function assertAllTrafficOn(daemon: TestDaemon, release: string): Promise<void> {
  const versions = await sampleVersions(daemon);
  const others = versions.filter((version) => version !== release);
  assert.deepEqual(others, [], `sampled public traffic not all on ${release}`);
}

export async function instanceRecords(dataDir: string): Promise<readonly InstanceRecord[]> {
  const { records, invalid } = await readInstanceRecords(join(dataDir, 'instances', 'shop'));
  assert.deepEqual(invalid, []);
  return records;
}

export interface ExpectedEnd {
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
export async function assertConsistentEnd(
  scenario: Scenario,
  expected: ExpectedEnd,
): Promise<void> {
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
export async function assertLockFree(scenario: Scenario): Promise<void> {
  const reply = await startDeployment(scenario.daemon, scenario.releases.v1);
  assert.equal(reply.status, 202, reply.body);
}

/** The standby's instances stopped and its color emptied; bounded by RETIRE_WAIT_MS. */
export async function waitStandbyRetired(scenario: Scenario): Promise<AppStatus> {
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
export function withoutCounters(status: AppStatus): Record<string, unknown> {
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
