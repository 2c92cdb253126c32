import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSqliteStateStore } from '../adapters/state-store/sqlite/sqlite-state-store.ts';
import type { StoredHistoryEvent } from '../ports/state-store.ts';
import { createHistoryFeed } from './history-feed.ts';

function event(app: string, n: number) {
  return { app, type: 'step', at: new Date(0).toISOString(), data: { n } };
}

describe('history feed', () => {
  it('replays after an id, then follows live, in order, without duplicates or other apps', async () => {
    const feed = createHistoryFeed(await createSqliteStateStore({ path: ':memory:' }));
    try {
      const first = await feed.store.appendHistory(event('shop', 1));
      await feed.store.appendHistory(event('blog', 2));
      await feed.store.appendHistory(event('shop', 3));
      const received: StoredHistoryEvent[] = [];
      const stop = new AbortController();
      const following = feed.follow(
        { app: 'shop', afterId: first.id },
        {
          signal: stop.signal,
          send: (stored) => {
            received.push(stored);
            if (received.length === 3) stop.abort();
          },
        },
      );
      // Appended while the replay may still be reading: delivered once, after the replay.
      await feed.store.appendHistory(event('shop', 4));
      await feed.store.appendHistory(event('blog', 5));
      await feed.store.appendHistory(event('shop', 6));
      await following;
      assert.deepEqual(
        received.map((stored) => stored.data.n),
        [3, 4, 6],
      );
      const ids = received.map((stored) => stored.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
    } finally {
      await feed.store.close();
    }
  });

  it('follows only new events without Last-Event-ID, and stops on abort', async () => {
    const feed = createHistoryFeed(await createSqliteStateStore({ path: ':memory:' }));
    try {
      await feed.store.appendHistory(event('shop', 1));
      const received: unknown[] = [];
      const stop = new AbortController();
      const following = feed.follow(
        {},
        { signal: stop.signal, send: (stored) => received.push(stored.data.n) },
      );
      await feed.store.appendHistory(event('blog', 2));
      stop.abort();
      await following;
      await feed.store.appendHistory(event('shop', 3));
      assert.deepEqual(received, [2]);
    } finally {
      await feed.store.close();
    }
  });
});
