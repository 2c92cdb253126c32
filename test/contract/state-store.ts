// The contract every StateStore adapter runs (STYLE.md: a small contract, many implementations).
// Each adapter's test file calls `runStateStoreContract` with a fixture that opens handles on
// one fresh, empty store.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { isCutoverError } from '../../src/core/errors.ts';
import { DEFAULT_HEALTH_CHECK } from '../../src/core/types.ts';
import type { AppState, Color, DaemonState } from '../../src/core/types.ts';
import type { DeploymentRecord, StateStore } from '../../src/ports/state-store.ts';

export interface StateStoreFixture {
  /** Opens a new handle on the same underlying store (another connection, same data). */
  open(): Promise<StateStore>;
  /** Writes a raw app record that bypasses validation, when the adapter can. */
  injectCorruptApp?(app: string, raw: string): Promise<void>;
  /** Writes a raw deployment record that bypasses validation, when the adapter can. */
  injectCorruptDeployment?(id: string, app: string, startedAt: string, raw: string): Promise<void>;
  /** Writes a raw effect entry that bypasses validation, when the adapter can. */
  injectCorruptEffect?(key: string, status: string, result: string): Promise<void>;
  /** Removes everything the fixture created. */
  cleanup(): Promise<void>;
}

/** A valid app record with `release` live on `color`. */
export function sampleApp(name: string, release = 'v1', color: Color = 'blue'): AppState {
  const other: Color = color === 'blue' ? 'green' : 'blue';
  return {
    name,
    hosts: [`${name}.example.test`],
    live: color,
    standby: null,
    environments: {
      [color]: {
        color,
        release: {
          id: release,
          instances: [{ id: `${name}-${color}-1`, address: '127.0.0.1:3000' }],
          health: DEFAULT_HEALTH_CHECK,
          placedAt: '2026-01-01T00:00:00.000Z',
        },
      },
      [other]: { color: other, release: null },
    } as AppState['environments'],
    flips: [],
  };
}

/** A valid deployment record of `app`, started `minute` minutes into 2026. */
export function sampleDeployment(
  id: string,
  app: string,
  minute: number,
  active = true,
): DeploymentRecord {
  const startedAt = new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
  return {
    id,
    app,
    active,
    state: {
      id,
      app,
      release: `v${minute}`,
      step: active ? 'smoke' : 'succeeded',
      from: 'blue',
      to: 'green',
      flipped: !active,
      flipGeneration: active ? null : 7,
      instancesStarted: true,
      autoRollback: true,
      abortRequested: false,
      outcome: active ? null : 'succeeded',
      reason: null,
      startedAt,
      stepStartedAt: startedAt,
      updatedAt: startedAt,
      eventCount: 4,
      resumes: 0,
      steps: [{ step: 'resolving', startedAt, endedAt: startedAt }],
    },
    request: { release: `v${minute}`, dir: `/srv/${app}/v${minute}`, instances: 2 },
    report: { steps: [{ step: 'resolving', durationMs: 3 }], probes: null },
    requestedBy: 'alice via cli',
  };
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(isCutoverError(error), `expected a CutoverError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

export function runStateStoreContract(
  name: string,
  factory: () => Promise<StateStoreFixture>,
): void {
  async function withStore(body: (store: StateStore, fixture: StateStoreFixture) => Promise<void>) {
    const fixture = await factory();
    const store = await fixture.open();
    try {
      await body(store, fixture);
    } finally {
      await store.close();
      await fixture.cleanup();
    }
  }

  void describe(`StateStore contract: ${name}`, () => {
    void it('starts empty at revision 0', () =>
      withStore(async (store) => {
        const loaded = await store.load();
        assert.deepEqual(loaded, { state: { revision: 0, apps: {} }, corrupt: [] });
      }));

    void it('compareAndSwap puts and deletes whole records and grows the revision by one', () =>
      withStore(async (store) => {
        const shop = sampleApp('shop');
        const blog = sampleApp('blog', 'v7', 'green');
        assert.equal(await store.compareAndSwap(0, { put: [shop, blog] }), 1);
        assert.deepEqual((await store.load()).state, { revision: 1, apps: { shop, blog } });
        assert.equal(await store.compareAndSwap(1, { delete: ['blog'] }), 2);
        assert.deepEqual((await store.load()).state, { revision: 2, apps: { shop } });
      }));

    void it('a stale revision is a conflict and changes nothing', () =>
      withStore(async (store) => {
        await store.compareAndSwap(0, { put: [sampleApp('shop', 'v1')] });
        await assert.rejects(
          store.compareAndSwap(0, { put: [sampleApp('shop', 'v2')] }),
          hasCode('CUTOVER_ERR_STATE_CONFLICT'),
        );
        const { state } = await store.load();
        assert.equal(state.revision, 1);
        assert.equal(state.apps.shop?.environments.blue.release?.id, 'v1');
      }));

    void it('two handles racing on one revision: exactly one wins', () =>
      withStore(async (store, fixture) => {
        const other = await fixture.open();
        try {
          const results = await Promise.allSettled([
            store.compareAndSwap(0, { put: [sampleApp('shop', 'a')] }),
            other.compareAndSwap(0, { put: [sampleApp('shop', 'b')] }),
          ]);
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
          const loser = results.find((r) => r.status === 'rejected');
          assert.ok(loser && hasCode('CUTOVER_ERR_STATE_CONFLICT')(loser.reason));
          assert.equal((await other.load()).state.revision, 1);
        } finally {
          await other.close();
        }
      }));

    void it('watchers run after commit, in revision order, with the new state', () =>
      withStore(async (store) => {
        const seen: DaemonState[] = [];
        const loads: Promise<number>[] = [];
        const unwatch = store.watch((state) => {
          seen.push(state);
          loads.push(store.load().then((loaded) => loaded.state.revision));
        });
        await store.compareAndSwap(0, { put: [sampleApp('shop', 'v1')] });
        await store.compareAndSwap(1, { put: [sampleApp('shop', 'v2')] });
        await store.compareAndSwap(2, { delete: ['shop'] });
        unwatch();
        await store.compareAndSwap(3, { put: [sampleApp('shop', 'v3')] });
        assert.deepEqual(
          seen.map((s) => s.revision),
          [1, 2, 3],
        );
        assert.equal(seen[1]?.apps.shop?.environments.blue.release?.id, 'v2');
        assert.deepEqual(seen[2]?.apps, {});
        // Each watcher call could already read its own revision: it ran after the commit.
        assert.deepEqual(await Promise.all(loads), [1, 2, 3]);
      }));

    void it('a lock is exclusive and the refusal names the holder', () =>
      withStore(async (store) => {
        const lease = await store.acquireLock('app:shop', 'alice deploy d1', 60_000);
        assert.equal(lease.holder, 'alice deploy d1');
        await assert.rejects(store.acquireLock('app:shop', 'bob deploy d2', 60_000), (error) => {
          hasCode('CUTOVER_ERR_APP_LOCKED')(error);
          assert.match((error as Error).message, /alice deploy d1/);
          return true;
        });
        // Another name is another lock.
        const blog = await store.acquireLock('app:blog', 'bob deploy d3', 60_000);
        await lease.renew();
        await lease.release();
        await lease.release();
        const again = await store.acquireLock('app:shop', 'bob deploy d2', 60_000);
        await again.release();
        await blog.release();
      }));

    void it('a live lock can be taken over by naming its exact holder, and by no one else', () =>
      withStore(async (store, fixture) => {
        const crashed = await store.acquireLock('app:shop', 'daemon-1 deploy d1', 60_000);
        // A different holder name, or none, is still refused.
        await assert.rejects(
          store.acquireLock('app:shop', 'bob', 60_000, { takeOverFrom: 'daemon-1' }),
          /daemon-1 deploy d1/,
        );
        const other = await fixture.open();
        try {
          const resumed = await other.acquireLock('app:shop', 'daemon-2 deploy d1', 60_000, {
            takeOverFrom: 'daemon-1 deploy d1',
          });
          assert.equal(resumed.holder, 'daemon-2 deploy d1');
          // The old lease lost the lock: it cannot renew, and releasing it drops nothing.
          await assert.rejects(crashed.renew(), hasCode('CUTOVER_ERR_APP_LOCKED'));
          await crashed.release();
          await assert.rejects(
            store.acquireLock('app:shop', 'carol', 60_000),
            /daemon-2 deploy d1/,
          );
          // Naming a holder that is not the current one takes nothing.
          await assert.rejects(
            store.acquireLock('app:shop', 'carol', 60_000, { takeOverFrom: 'daemon-1 deploy d1' }),
            hasCode('CUTOVER_ERR_APP_LOCKED'),
          );
          await resumed.release();
          // A free lock is simply taken, whatever holder is named.
          const free = await store.acquireLock('app:shop', 'dave', 60_000, {
            takeOverFrom: 'nobody',
          });
          await free.release();
        } finally {
          await other.close();
        }
      }));

    void it('an expired lock can be taken over and the old lease knows it lost', () =>
      withStore(async (store) => {
        const dead = await store.acquireLock('app:shop', 'crashed daemon', 40);
        await delay(120);
        const taker = await store.acquireLock('app:shop', 'new daemon', 60_000);
        await assert.rejects(dead.renew(), hasCode('CUTOVER_ERR_APP_LOCKED'));
        // Releasing the lost lease must not drop the new holder's lock.
        await dead.release();
        await assert.rejects(store.acquireLock('app:shop', 'third', 60_000), /new daemon/);
        await taker.release();
      }));

    void it('20 concurrent lock attempts: exactly one winner, the others name it', () =>
      withStore(async (store, fixture) => {
        const handles = [store];
        for (let i = 1; i < 20; i += 1) handles.push(await fixture.open());
        try {
          const results = await Promise.allSettled(
            handles.map((handle, i) => handle.acquireLock('app:shop', `actor-${i}`, 60_000)),
          );
          const winners = results.filter((r) => r.status === 'fulfilled');
          assert.equal(winners.length, 1);
          const winner = winners[0]?.status === 'fulfilled' ? winners[0].value.holder : '';
          for (const result of results) {
            if (result.status === 'rejected') {
              hasCode('CUTOVER_ERR_APP_LOCKED')(result.reason);
              assert.ok((result.reason as Error).message.includes(winner));
            }
          }
        } finally {
          for (const handle of handles.slice(1)) await handle.close();
        }
      }));

    void it('history appends with growing ids and lists the most recent, oldest first', () =>
      withStore(async (store) => {
        const ids: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          const app = i % 2 === 0 ? 'shop' : 'blog';
          const stored = await store.appendHistory({
            app,
            type: 'flipped',
            at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
            data: { n: i, actor: 'alice' },
          });
          assert.equal(stored.app, app);
          ids.push(stored.id);
        }
        assert.deepEqual(
          [...ids].sort((a, b) => a - b),
          ids,
        );
        assert.equal(new Set(ids).size, 5);
        const all = await store.listHistory({});
        assert.deepEqual(
          all.map((e) => e.data.n),
          [0, 1, 2, 3, 4],
        );
        const shop = await store.listHistory({ app: 'shop' });
        assert.deepEqual(
          shop.map((e) => e.data.n),
          [0, 2, 4],
        );
        const lastTwo = await store.listHistory({ limit: 2 });
        assert.deepEqual(
          lastTwo.map((e) => e.data.n),
          [3, 4],
        );
        assert.deepEqual(lastTwo[1], {
          ...lastTwo[1],
          type: 'flipped',
          data: { n: 4, actor: 'alice' },
        });
      }));

    void it('a corrupt record degrades only its own app', async (t) => {
      const probe = await factory();
      const canInject = probe.injectCorruptApp !== undefined;
      await probe.cleanup();
      if (!canInject) {
        t.diagnostic(`${name} cannot inject a corrupt record; covered by its own tests`);
        return;
      }
      await withStore(async (store, fixture) => {
        await store.compareAndSwap(0, { put: [sampleApp('shop')] });
        await fixture.injectCorruptApp?.('broken', '{"name": "broken", "hosts": [');
        await fixture.injectCorruptApp?.('odd', JSON.stringify({ name: 'odd', live: 'purple' }));
        const loaded = await store.load();
        assert.deepEqual(Object.keys(loaded.state.apps), ['shop']);
        assert.deepEqual(loaded.corrupt.map((c) => c.app).sort(), ['broken', 'odd']);
        for (const record of loaded.corrupt) assert.ok(record.reason.length > 0);
        // The store keeps working for the healthy app.
        const revision = await store.compareAndSwap(loaded.state.revision, {
          put: [sampleApp('shop', 'v2')],
        });
        assert.equal((await store.load()).state.apps.shop?.environments.blue.release?.id, 'v2');
        assert.equal(revision, loaded.state.revision + 1);
      });
    });

    void it('state, locks and history survive close and reopen; a closed store refuses calls', () =>
      withStore(async (first, fixture) => {
        await first.compareAndSwap(0, { put: [sampleApp('shop', 'v9')] });
        await first.appendHistory({ app: 'shop', type: 'deployed', at: 'x', data: { a: 1 } });
        await first.acquireLock('app:shop', 'holder-before-close', 60_000);
        await first.close();
        await assert.rejects(first.load(), hasCode('CUTOVER_ERR_STATE_UNAVAILABLE'));
        await assert.rejects(
          first.compareAndSwap(1, { delete: ['shop'] }),
          hasCode('CUTOVER_ERR_STATE_UNAVAILABLE'),
        );
        const reopened = await fixture.open();
        try {
          const { state } = await reopened.load();
          assert.equal(state.revision, 1);
          assert.deepEqual(state.apps.shop, sampleApp('shop', 'v9'));
          assert.equal((await reopened.listHistory({ app: 'shop' }))[0]?.data.a, 1);
          await assert.rejects(
            reopened.acquireLock('app:shop', 'other', 60_000),
            /holder-before-close/,
          );
        } finally {
          await reopened.close();
        }
      }));

    void it('a saved deployment reads back deep-equal; saving the same id replaces it', () =>
      withStore(async (store) => {
        assert.equal(await store.getDeployment('d1'), null);
        const first = sampleDeployment('d1', 'shop', 1);
        await store.saveDeployment(first);
        assert.deepEqual(await store.getDeployment('d1'), first);
        const finished = sampleDeployment('d1', 'shop', 1, false);
        await store.saveDeployment(finished);
        assert.deepEqual(await store.getDeployment('d1'), finished);
        assert.deepEqual(await store.listDeployments({}), [finished]);
        assert.deepEqual(await store.listDeployments({ active: true }), []);
      }));

    void it('listDeployments filters by app and active, newest first by start then id', () =>
      withStore(async (store) => {
        // Saved out of order; d3 and d4 start in the same minute, so the id breaks the tie.
        await store.saveDeployment(sampleDeployment('d2', 'shop', 2, false));
        await store.saveDeployment(sampleDeployment('d4', 'blog', 3));
        await store.saveDeployment(sampleDeployment('d1', 'shop', 1, false));
        await store.saveDeployment(sampleDeployment('d3', 'shop', 3));
        await store.saveDeployment(sampleDeployment('d5', 'blog', 0, false));
        const ids = async (query: Parameters<StateStore['listDeployments']>[0]) =>
          (await store.listDeployments(query)).map((record) => record.id);
        assert.deepEqual(await ids({}), ['d4', 'd3', 'd2', 'd1', 'd5']);
        assert.deepEqual(await ids({ app: 'shop' }), ['d3', 'd2', 'd1']);
        assert.deepEqual(await ids({ active: true }), ['d4', 'd3']);
        assert.deepEqual(await ids({ active: false }), ['d2', 'd1', 'd5']);
        assert.deepEqual(await ids({ app: 'shop', active: false }), ['d2', 'd1']);
        assert.deepEqual(await ids({ app: 'blog', active: true }), ['d4']);
        assert.deepEqual(await ids({ app: 'nope' }), []);
        // Finishing a deployment moves it out of the active list.
        await store.saveDeployment(sampleDeployment('d3', 'shop', 3, false));
        assert.deepEqual(await ids({ active: true }), ['d4']);
        assert.deepEqual(await ids({ app: 'shop', active: false }), ['d3', 'd2', 'd1']);
      }));

    void it('listDeployments keeps the newest 50 by default and clamps the limit', () =>
      withStore(async (store) => {
        for (let i = 0; i < 53; i += 1) {
          await store.saveDeployment(sampleDeployment(`d${String(i).padStart(2, '0')}`, 'shop', i));
        }
        const page = await store.listDeployments({});
        assert.equal(page.length, 50);
        assert.equal(page[0]?.id, 'd52');
        assert.equal(page[49]?.id, 'd03');
        assert.deepEqual(
          (await store.listDeployments({ limit: 2 })).map((record) => record.id),
          ['d52', 'd51'],
        );
        assert.equal((await store.listDeployments({ limit: 0 })).length, 1);
        assert.equal((await store.listDeployments({ limit: 2.9 })).length, 2);
        assert.equal((await store.listDeployments({ limit: 100_000 })).length, 53);
      }));

    void it('the effect journal: begun then done replaces; a missing key is null', () =>
      withStore(async (store) => {
        assert.equal(await store.getEffect('d1:flip'), null);
        const begun = { key: 'd1:flip', status: 'begun', result: null, at: 'x1' } as const;
        await store.putEffect(begun);
        assert.deepEqual(await store.getEffect('d1:flip'), begun);
        const done = {
          key: 'd1:flip',
          status: 'done',
          result: { generation: 8, instances: [{ id: 'i1', address: '127.0.0.1:3001' }] },
          at: 'x2',
        } as const;
        await store.putEffect(done);
        assert.deepEqual(await store.getEffect('d1:flip'), done);
        // Keys are independent; an undefined result comes back as null.
        await store.putEffect({ key: 'd1:start', status: 'begun', result: undefined, at: 'x3' });
        assert.deepEqual(await store.getEffect('d1:start'), {
          key: 'd1:start',
          status: 'begun',
          result: null,
          at: 'x3',
        });
        assert.deepEqual(await store.getEffect('d1:flip'), done);
      }));

    void it('deployments and effects are seen by a second handle and survive reopen', () =>
      withStore(async (first, fixture) => {
        const record = sampleDeployment('d1', 'shop', 1);
        const entry = { key: 'd1:start', status: 'done', result: [1, 'two'], at: 'x' } as const;
        await first.saveDeployment(record);
        await first.putEffect(entry);
        const second = await fixture.open();
        try {
          assert.deepEqual(await second.getDeployment('d1'), record);
          assert.deepEqual(await second.listDeployments({ app: 'shop', active: true }), [record]);
          assert.deepEqual(await second.getEffect('d1:start'), entry);
          // And back: what the second handle writes, the first reads.
          await second.saveDeployment(sampleDeployment('d1', 'shop', 1, false));
          assert.equal((await first.getDeployment('d1'))?.active, false);
        } finally {
          await second.close();
        }
        await first.close();
        for (const call of [
          () => first.saveDeployment(record),
          () => first.getDeployment('d1'),
          () => first.listDeployments({}),
          () => first.putEffect(entry),
          () => first.getEffect('d1:start'),
        ]) {
          await assert.rejects(call(), hasCode('CUTOVER_ERR_STATE_UNAVAILABLE'));
        }
        const reopened = await fixture.open();
        try {
          assert.equal((await reopened.getDeployment('d1'))?.active, false);
          assert.deepEqual(await reopened.getEffect('d1:start'), entry);
        } finally {
          await reopened.close();
        }
      }));

    void it('a corrupt deployment is left out of lists and named by get; the others still read', async (t) => {
      const probe = await factory();
      const canInject =
        probe.injectCorruptDeployment !== undefined && probe.injectCorruptEffect !== undefined;
      await probe.cleanup();
      if (!canInject) {
        t.diagnostic(`${name} cannot inject a corrupt deployment; covered by its own tests`);
        return;
      }
      await withStore(async (store, fixture) => {
        await store.saveDeployment(sampleDeployment('good', 'shop', 1));
        const late = '2026-01-01T00:09:00.000Z';
        await fixture.injectCorruptDeployment?.('torn', 'shop', late, '{"id": "torn", "app": ');
        const noState = { ...sampleDeployment('odd', 'shop', 9), state: 'smoke' };
        await fixture.injectCorruptDeployment?.('odd', 'shop', late, JSON.stringify(noState));
        assert.deepEqual(
          (await store.listDeployments({ app: 'shop' })).map((record) => record.id),
          ['good'],
        );
        assert.deepEqual(
          (await store.listDeployments({ limit: 1 })).map((record) => record.id),
          ['good'],
        );
        for (const id of ['torn', 'odd']) {
          await assert.rejects(store.getDeployment(id), (error) => {
            hasCode('CUTOVER_ERR_STATE_CORRUPT')(error);
            assert.match((error as Error).message, new RegExp(`"${id}"`));
            return true;
          });
        }
        assert.equal((await store.getDeployment('good'))?.id, 'good');
        await fixture.injectCorruptEffect?.('d1:flip', 'halfway', 'null');
        await fixture.injectCorruptEffect?.('d1:start', 'done', '{"instances": [');
        for (const key of ['d1:flip', 'd1:start']) {
          await assert.rejects(store.getEffect(key), (error) => {
            hasCode('CUTOVER_ERR_STATE_CORRUPT')(error);
            assert.match((error as Error).message, new RegExp(`"${key}"`));
            return true;
          });
        }
        // Saving over a corrupt row repairs it.
        await store.saveDeployment(sampleDeployment('odd', 'shop', 9));
        assert.equal((await store.getDeployment('odd'))?.state.step, 'smoke');
      });
    });
  });
}
