// The live re-snapshot timer with a stand-in service and store: every interval of the live
// release, asking again for a config not known yet, never for an app without a live color.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppState, DaemonState } from '../core/types.ts';
import type { StateStore } from '../ports/state-store.ts';
import { startDriftMonitor } from './drift-monitor.ts';
import type { DriftService } from './drift-service.ts';

function app(name: string, live: 'blue' | null, release: string | null): AppState {
  const held =
    release === null ? null : { id: release, instances: [], health: {} as never, placedAt: 't' };
  return {
    name,
    hosts: [],
    live,
    standby: null,
    environments: {
      blue: { color: 'blue', release: held },
      green: { color: 'green', release: null },
    },
    flips: [],
  };
}

void test('re-snapshots each live color every interval, asks again for an unknown one, stops cleanly', async () => {
  let listener: ((state: DaemonState) => void) | null = null;
  const store = {
    load: () =>
      Promise.resolve({
        state: {
          revision: 1,
          apps: { shop: app('shop', 'blue', 'v1'), idle: app('idle', null, null) },
        },
        corrupt: [],
      }),
    watch: (next: (state: DaemonState) => void) => {
      listener = next;
      return () => {
        listener = null;
      };
    },
  } as unknown as StateStore;
  const snapshots: string[] = [];
  let asked = 0;
  let nowMs = 0;
  const service = {
    // Unknown on the first ask (the deployment not recorded yet), then 100 ms.
    intervalOf: (name: string) => {
      asked += 1;
      assert.equal(name, 'shop');
      return Promise.resolve(asked === 1 ? null : 100);
    },
    resnapshotLive: (name: string, state: AppState) => {
      snapshots.push(`${name}:${state.environments.blue.release?.id ?? '-'}@${nowMs}`);
      return Promise.resolve(null);
    },
  } as unknown as DriftService;
  const monitor = await startDriftMonitor({ service, store, nowMs: () => nowMs, tickMs: 5 });
  try {
    await delay(40);
    assert.deepEqual(snapshots, [], 'no interval known yet');
    nowMs = 1_000;
    await delay(40);
    assert.equal(asked, 2);
    assert.deepEqual(snapshots, ['shop:v1@1000']);
    await delay(40);
    assert.deepEqual(snapshots, ['shop:v1@1000'], 'not again before the interval');
    nowMs = 1_100;
    await delay(40);
    assert.deepEqual(snapshots, ['shop:v1@1000', 'shop:v1@1100']);
    // A new live release starts its own interval from when it is seen.
    (listener as ((state: DaemonState) => void) | null)?.({
      revision: 2,
      apps: { shop: app('shop', 'blue', 'v2') },
    });
    await delay(40);
    nowMs = 2_200;
    await delay(40);
    assert.deepEqual(snapshots.at(-1), 'shop:v2@2200');
  } finally {
    await monitor.stop();
  }
  const count = snapshots.length;
  nowMs = 10_000;
  await delay(40);
  assert.equal(snapshots.length, count, 'stopped');
  assert.equal(listener, null);
});
