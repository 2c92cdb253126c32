// QUALITY.md E1, E2, E6 against a real daemon and real shop instances: kill -9 the daemon at
// every step boundary of a deployment (CUTOVER_FAILPOINT), and in the middle of the verify
// window, then restart it on the same data dir. Each deployment must end consistent: all
// sampled public traffic on one release, no once-only effect twice (one deploy flip, one
// rollback flip), exactly the live color's instances running and recorded, no orphan process,
// the app lock free again. A plain kill -9 while a release is live re-adopts its instances.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { InstanceRecord } from '../../src/adapters/runtime/process/instance-record.ts';
import type { DeploymentView, HistoryResponse } from '../../src/client/api-types.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { writeShopRelease } from '../helpers/shop-release.ts';
import {
  appStatus,
  assertAllTrafficOn,
  assertConsistentEnd,
  assertLockFree,
  deployAndWait,
  findDeployment,
  instanceRecords,
  startDeployment,
  waitAllHealthy,
  waitEnded,
  waitStandbyRetired,
  waitUntil,
  withoutCounters,
  withScenario,
  type ExpectedEnd,
  type Scenario,
} from '../helpers/shop-scenario.ts';

const KILL_WAIT_MS = 30_000;
/** Crash cases run side by side, each with its own daemon, data dir and ports. */
const CASE_CONCURRENCY = 4;

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

type CrashRelease = 'v2' | 'v3' | 'v4';

interface CrashCase {
  readonly failpoint: string;
  /** Failpoints of the next daemons: each resumes the deployment and dies again there. */
  readonly thenAt: readonly string[];
  readonly release: CrashRelease;
  /** What was deployed before, in order (the last one live): nothing, v1, or v1 then v2. */
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
  const live = before.at(-1);
  if (release === 'v2') {
    return {
      outcome: 'succeeded',
      end: {
        liveRelease: 'v2',
        otherRelease: live ?? null,
        newRelease: 'v2',
        deployFlips: 1,
        rollbackFlips: 0,
      },
    };
  }
  if (live === undefined) throw new Error(`a case for ${release} needs a live release before it`);
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
  // The app's first deployment: no live color before it, nothing to keep as standby.
  ...cases('v2', ['persisted:starting', 'effect-done:flip', 'persisted:verifying'], []),
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

/** Status names the ended deployment and its outcome, and the color the outcome implies is live. */
async function assertStatusTellsTheEnd(scenario: Scenario, view: DeploymentView): Promise<void> {
  const status = await appStatus(scenario.daemon);
  assert.equal(status.deployment?.id, view.id);
  assert.equal(status.deployment.ended, true);
  assert.equal(status.deployment.step, view.outcome);
  assert.equal(view.step, view.outcome);
  assert.ok(view.endedAt !== null);
  assert.equal(view.flipped, view.outcome === 'succeeded');
  assert.equal(status.live, view.outcome === 'succeeded' ? view.to : view.from);
}

function titleOf(crash: CrashCase): string {
  const after =
    crash.before.length === 0
      ? ' (first deployment)'
      : crash.before.length > 1
        ? ` (after ${crash.before.join(', ')})`
        : '';
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
          await assertStatusTellsTheEnd(scenario, view);
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
