import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentView } from '../client/api-types.ts';
import { CutoverError } from '../core/errors.ts';
import { view } from '../../test/helpers/deployment-views.ts';
import { followDeployment } from './follow-deployment.ts';

const unreachable = (): CutoverError =>
  new CutoverError('CUTOVER_ERR_DAEMON_UNREACHABLE', 'no daemon answers');

/** A fake clock that the fake sleep advances: no real waiting. */
function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    slept,
  };
}

void test('polls every interval until the deployment ends, handing over each view', async () => {
  const answers: DeploymentView[] = [
    view({ step: 'starting' }),
    view({ step: 'smoke' }),
    view({ step: 'succeeded', ended: true, outcome: 'succeeded' }),
  ];
  const time = fakeTime();
  const seen: string[] = [];
  const asked: string[] = [];
  const result = await followDeployment({
    id: 'd-1',
    getDeployment: (id) => {
      asked.push(id);
      return Promise.resolve(answers.shift() ?? assert.fail('polled after the end'));
    },
    onView: (v) => seen.push(v.step),
    onUnreachable: () => assert.fail('the daemon answered'),
    now: time.now,
    sleep: time.sleep,
  });
  assert.equal(result.kind, 'ended');
  assert.equal(result.view?.outcome, 'succeeded');
  assert.deepEqual(seen, ['starting', 'smoke', 'succeeded']);
  assert.deepEqual(asked, ['d-1', 'd-1', 'd-1']);
  assert.deepEqual(time.slept, [200, 200]);
});

void test('an unreachable daemon is retried, reported once per outage, and followed again', async () => {
  const time = fakeTime();
  const script: (DeploymentView | CutoverError)[] = [
    view({ step: 'starting' }),
    unreachable(),
    unreachable(),
    unreachable(),
    view({ step: 'smoke', resumes: 1 }),
    unreachable(),
    view({ step: 'failed', ended: true, outcome: 'failed' }),
  ];
  let reports = 0;
  const result = await followDeployment({
    id: 'd-1',
    getDeployment: () => {
      const next = script.shift();
      if (next instanceof CutoverError) return Promise.reject(next);
      return Promise.resolve(next ?? assert.fail('polled after the end'));
    },
    onView: () => undefined,
    onUnreachable: () => (reports += 1),
    now: time.now,
    sleep: time.sleep,
  });
  assert.equal(result.kind, 'ended');
  assert.equal(result.view?.outcome, 'failed');
  assert.equal(reports, 2);
});

void test('an outage longer than the grace fails with the unreachable error', async () => {
  const time = fakeTime();
  let calls = 0;
  await assert.rejects(
    followDeployment({
      id: 'd-1',
      getDeployment: () => {
        calls += 1;
        return Promise.reject(unreachable());
      },
      onView: () => undefined,
      onUnreachable: () => undefined,
      unreachableGraceMs: 1000,
      now: time.now,
      sleep: time.sleep,
    }),
    (error: unknown) =>
      error instanceof CutoverError && error.code === 'CUTOVER_ERR_DAEMON_UNREACHABLE',
  );
  // The first failure at 0 ms, then one every 200 ms until 1000 ms had passed.
  assert.equal(calls, 6);
});

void test('other errors are not retried', async () => {
  await assert.rejects(
    followDeployment({
      id: 'nope',
      getDeployment: () =>
        Promise.reject(new CutoverError('CUTOVER_ERR_DEPLOY_NOT_FOUND', 'no deployment nope')),
      onView: () => undefined,
      onUnreachable: () => assert.fail('not an outage'),
      sleep: () => Promise.resolve(),
    }),
    /no deployment nope/,
  );
});

void test('an abort stops following at once, even mid-call, with the last view seen', async () => {
  const interrupt = new AbortController();
  let calls = 0;
  const result = await followDeployment({
    id: 'd-1',
    getDeployment: () => {
      calls += 1;
      if (calls === 1) return Promise.resolve(view({ step: 'warmup' }));
      // The second call hangs (a slow daemon) until Ctrl-C.
      setImmediate(() => interrupt.abort());
      return new Promise<DeploymentView>(() => undefined);
    },
    onView: () => undefined,
    onUnreachable: () => undefined,
    signal: interrupt.signal,
    intervalMs: 1,
  });
  assert.equal(result.kind, 'interrupted');
  assert.equal(result.view?.step, 'warmup');
  assert.equal(calls, 2);
});
