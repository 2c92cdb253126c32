// The live feed of the deployment timeline: every history event appended through the daemon
// (controller steps, flips, drains, audit lines) is published to followers, who may first
// replay what they missed (SSE `Last-Event-ID`). The store is wrapped, not changed: the
// controller gets the wrapped one, so nothing it appends is missed.
import { once } from 'node:events';
import type { HistoryEvent, StateStore, StoredHistoryEvent } from '../ports/state-store.ts';

/** How far back a reconnecting follower can replay. */
export const HISTORY_REPLAY_LIMIT = 1000;

export interface HistorySink {
  send(event: StoredHistoryEvent): void;
  /** Aborted when the follower leaves or the daemon stops. */
  readonly signal: AbortSignal;
}

export interface FollowQuery {
  readonly app?: string;
  /** Replay events after this id first (the SSE `Last-Event-ID`). */
  readonly afterId?: number;
}

export interface HistoryFeed {
  /** The store to hand to the controller and the audit log. */
  readonly store: StateStore;
  /** Streams matching events to `sink` until its signal aborts. */
  follow(query: FollowQuery, sink: HistorySink): Promise<void>;
}

export function createHistoryFeed(inner: StateStore): HistoryFeed {
  const listeners = new Set<(event: StoredHistoryEvent) => void>();
  const store: StateStore = {
    load: () => inner.load(),
    compareAndSwap: (expectedRevision, change) => inner.compareAndSwap(expectedRevision, change),
    watch: (listener) => inner.watch(listener),
    acquireLock: (name, holder, ttlMs, options) => inner.acquireLock(name, holder, ttlMs, options),
    listHistory: (query) => inner.listHistory(query),
    saveDeployment: (record) => inner.saveDeployment(record),
    getDeployment: (id) => inner.getDeployment(id),
    listDeployments: (query) => inner.listDeployments(query),
    putEffect: (entry) => inner.putEffect(entry),
    getEffect: (key) => inner.getEffect(key),
    close: () => inner.close(),
    async appendHistory(event: HistoryEvent) {
      const stored = await inner.appendHistory(event);
      for (const listener of listeners) listener(stored);
      return stored;
    },
  };

  async function follow(query: FollowQuery, sink: HistorySink): Promise<void> {
    if (sink.signal.aborted) return;
    const matches = (event: StoredHistoryEvent): boolean =>
      query.app === undefined || event.app === query.app;
    // Subscribe before the replay so nothing appended meanwhile is lost; ids dedupe.
    let lastId = query.afterId ?? -1;
    let pending: StoredHistoryEvent[] | null = [];
    const deliver = (event: StoredHistoryEvent): void => {
      if (event.id <= lastId || !matches(event)) return;
      lastId = event.id;
      sink.send(event);
    };
    const listener = (event: StoredHistoryEvent): void => {
      if (pending === null) deliver(event);
      else pending.push(event);
    };
    listeners.add(listener);
    try {
      if (query.afterId !== undefined) {
        const past = await inner.listHistory({
          ...(query.app === undefined ? {} : { app: query.app }),
          limit: HISTORY_REPLAY_LIMIT,
        });
        for (const event of past) deliver(event);
      }
      for (const event of pending) deliver(event);
      pending = null;
      if (!sink.signal.aborted) await once(sink.signal, 'abort');
    } finally {
      listeners.delete(listener);
    }
  }

  return { store, follow };
}
