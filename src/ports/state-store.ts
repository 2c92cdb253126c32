import type { DeploymentState } from '../core/deployment/deployment-state.ts';
import type { AppState, DaemonState } from '../core/types.ts';

/** An app record that could not be decoded; only that app is affected (QUALITY.md B7). */
export interface CorruptRecord {
  readonly app: string;
  readonly reason: string;
}

export interface LoadedState {
  readonly state: DaemonState;
  readonly corrupt: readonly CorruptRecord[];
}

/** A change to apply atomically: whole app records replaced or deleted. */
export interface StateChange {
  readonly put?: readonly AppState[];
  readonly delete?: readonly string[];
}

/** A held lock; `release` is idempotent. The holder string is shown to anyone refused. */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly token: string;
  release(): Promise<void>;
  /** Extends the lease by its TTL; throws CUTOVER_ERR_APP_LOCKED if it was lost. */
  renew(): Promise<void>;
}

/** One line of an app's timeline (deployments, flips, rollbacks, drains, audit of mutations). */
export interface HistoryEvent {
  readonly app: string;
  readonly type: string;
  /** ISO-8601. */
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface StoredHistoryEvent extends HistoryEvent {
  readonly id: number;
}

/**
 * One deployment as stored: the state machine's state plus what is needed to resume it after a
 * crash (the release's directory and cutover.yaml text; never a resolved secret).
 */
export interface DeploymentRecord {
  readonly id: string;
  readonly app: string;
  /** False once the deployment reached an outcome. */
  readonly active: boolean;
  readonly state: DeploymentState;
  /** The start request as received (release, dir, config text, instances); JSON data. */
  readonly request: Readonly<Record<string, unknown>>;
  /** What the steps measured so far (the API's DeploymentReport); JSON data. */
  readonly report: Readonly<Record<string, unknown>>;
  readonly requestedBy: string;
}

/**
 * The journal of once-only effects (start-instances, migrate-expand, flip, flip-back), by the
 * effect's idempotency key. `begun` is written before the effect runs and `done` (with its
 * result) after; a resume that finds `begun` without `done` must reconcile with the target.
 */
export interface EffectEntry {
  readonly key: string;
  readonly status: 'begun' | 'done';
  /** JSON data the effect returned (e.g. the instances started, the flip generation). */
  readonly result: unknown;
  /** ISO-8601 time of the last write. */
  readonly at: string;
}

/**
 * Durable state of the daemon. One store per data directory.
 *
 * Lifecycle: created open by its factory, used until `close()`; a closed store rejects every call.
 * Invariants:
 * - `revision` only grows; each successful `compareAndSwap` increments it by exactly one.
 * - A change is all-or-nothing and durable (fsynced / WAL) before the promise resolves; a crash
 *   at any point leaves either the old or the new state, never a mix or a truncated file.
 * - `compareAndSwap` with a stale revision changes nothing and throws CUTOVER_ERR_STATE_CONFLICT.
 * - Locks are atomic compare-and-set with a TTL; an expired lock (dead holder) can be taken over.
 * - Watchers are called after each committed change, in revision order, with the new state.
 */
export interface StateStore {
  load(): Promise<LoadedState>;
  /** Applies `change` if the stored revision is `expectedRevision`; returns the new revision. */
  compareAndSwap(expectedRevision: number, change: StateChange): Promise<number>;
  /** Calls `listener` after every committed change; returns an unsubscribe function. */
  watch(listener: (state: DaemonState) => void): () => void;
  /**
   * Takes the named lock or throws CUTOVER_ERR_APP_LOCKED naming the current holder.
   * `takeOverFrom`: also take it while it is held by exactly that holder (a restarted daemon
   * resuming the deployment whose unique holder name it stored); anyone else is still refused.
   */
  acquireLock(
    name: string,
    holder: string,
    ttlMs: number,
    options?: { readonly takeOverFrom?: string },
  ): Promise<Lease>;
  appendHistory(event: HistoryEvent): Promise<StoredHistoryEvent>;
  listHistory(query: { app?: string; limit?: number }): Promise<readonly StoredHistoryEvent[]>;
  /** Inserts or replaces the record with this id; durable before the promise resolves. */
  saveDeployment(record: DeploymentRecord): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRecord | null>;
  /** Newest first (by state.startedAt, then id); `active` filters on the flag. */
  listDeployments(query: {
    app?: string;
    active?: boolean;
    limit?: number;
  }): Promise<readonly DeploymentRecord[]>;
  /** Inserts or replaces the entry with this key; durable before the promise resolves. */
  putEffect(entry: EffectEntry): Promise<void>;
  getEffect(key: string): Promise<EffectEntry | null>;
  close(): Promise<void>;
}
