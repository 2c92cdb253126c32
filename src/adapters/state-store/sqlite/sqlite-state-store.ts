// The embedded StateStore: one SQLite file in the data directory (DESIGN.md, embedded default).
// Durability comes from SQLite itself: WAL with synchronous=FULL, every change one
// `BEGIN IMMEDIATE` transaction, so a crash leaves the old or the new state and never a
// half-written file (QUALITY.md E7).
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { CutoverError, isCutoverError } from '../../../core/errors.ts';
import type { AppState, DaemonState } from '../../../core/types.ts';
import type {
  CorruptRecord,
  HistoryEvent,
  Lease,
  LoadedState,
  StateChange,
  StateStore,
  StoredHistoryEvent,
} from '../../../ports/state-store.ts';
import { checkAppRecord, decodeAppRecord } from './app-state-schema.ts';
import { createDeploymentJournal, DEPLOYMENT_TABLES_SQL } from './deployment-journal.ts';

/**
 * The schema this code writes; a file with a newer one is refused rather than misread.
 * 2 added the deployments and effects tables; a version 1 file is upgraded in place on open.
 */
export const SCHEMA_VERSION = 2;

/** How long a write waits for another connection's transaction before giving up. */
export const BUSY_TIMEOUT_MS = 5000;

export const DEFAULT_HISTORY_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1000;

export interface SqliteStateStoreOptions {
  /** The database file, e.g. `.cutover/state.db`; its folder is created if missing. */
  readonly path: string;
  /** Wall-clock milliseconds for lock expiry; locks are shared between processes, so wall time. */
  readonly nowMs?: () => number;
  /** How long a write waits for another connection's transaction; default BUSY_TIMEOUT_MS. */
  readonly busyTimeoutMs?: number;
  /** Called when a watcher throws; the other watchers still run. */
  readonly onWatcherError?: (error: unknown) => void;
  /** Called when a stored row is left out of a list because it does not decode. */
  readonly onCorruptRecord?: (what: string, reason: string) => void;
}

export interface SqliteStateStore extends StateStore {
  readonly path: string;
}

const SCHEMA_SQL = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
  CREATE TABLE IF NOT EXISTS apps (name TEXT PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS history_app ON history (app, id);
  ${DEPLOYMENT_TABLES_SQL}
`;

function unavailable(action: string, error: unknown): CutoverError {
  if (isCutoverError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CutoverError(
    'CUTOVER_ERR_STATE_UNAVAILABLE',
    `Could not ${action} in the state store (${message}); nothing was changed. Check that the data directory is writable and has free space.`,
    { cause: message },
  );
}

function openDatabase(path: string, busyTimeoutMs: number): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
    if (row.user_version > SCHEMA_VERSION) {
      throw new CutoverError(
        'CUTOVER_ERR_STATE_UNAVAILABLE',
        `The state file ${path} has schema version ${row.user_version}, newer than this cutover understands (${SCHEMA_VERSION}); run a newer cutover, or move the file away to start from empty state.`,
        { path, version: row.user_version, supported: SCHEMA_VERSION },
      );
    }
    if (row.user_version < SCHEMA_VERSION) {
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(SCHEMA_SQL);
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    }
    return db;
  } catch (error) {
    db.close();
    throw unavailable(`open ${path}`, error);
  }
}

/** Opens (creating if needed) the SQLite state file at `options.path`. */
export function createSqliteStateStore(
  options: SqliteStateStoreOptions,
): Promise<SqliteStateStore> {
  try {
    return Promise.resolve(openStore(options));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function openStore(options: SqliteStateStoreOptions): SqliteStateStore {
  const db = openDatabase(options.path, options.busyTimeoutMs ?? BUSY_TIMEOUT_MS);
  const nowMs = options.nowMs ?? (() => Date.now());
  const watchers = new Set<(state: DaemonState) => void>();
  let closed = false;

  const readRevision = db.prepare(`SELECT value FROM meta WHERE key = 'revision'`);
  const writeRevision = db.prepare(`UPDATE meta SET value = ? WHERE key = 'revision'`);
  const readApps = db.prepare('SELECT name, record FROM apps ORDER BY name');
  const putApp = db.prepare(
    'INSERT INTO apps (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record',
  );
  const deleteApp = db.prepare('DELETE FROM apps WHERE name = ?');
  const readLock = db.prepare('SELECT holder, token, expires_at_ms FROM locks WHERE name = ?');
  const writeLock = db.prepare(
    'INSERT INTO locks (name, holder, token, expires_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at_ms = excluded.expires_at_ms',
  );
  const renewLock = db.prepare('UPDATE locks SET expires_at_ms = ? WHERE name = ? AND token = ?');
  const dropLock = db.prepare('DELETE FROM locks WHERE name = ? AND token = ?');
  const insertHistory = db.prepare(
    'INSERT INTO history (app, type, at, data) VALUES (?, ?, ?, ?) RETURNING id',
  );
  const listAll = db.prepare(
    'SELECT id, app, type, at, data FROM (SELECT * FROM history ORDER BY id DESC LIMIT ?) ORDER BY id',
  );
  const listApp = db.prepare(
    'SELECT id, app, type, at, data FROM (SELECT * FROM history WHERE app = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
  );

  function assertOpen(): void {
    if (closed) {
      throw new CutoverError(
        'CUTOVER_ERR_STATE_UNAVAILABLE',
        `The state store ${options.path} is closed; open it again.`,
      );
    }
  }

  /**
   * Runs `body` in one write transaction; any error rolls it back and leaves nothing changed.
   * `durability: 'lease'` commits without waiting for the fsync (WAL, synchronous=NORMAL): still
   * atomic, and a power loss can only forget the newest leases, whose holder died with the
   * machine anyway. It keeps one fsync off the critical path of every flip and rollback; state
   * and history always commit with synchronous=FULL.
   */
  function inWriteTransaction<T>(
    action: string,
    body: () => T,
    durability: 'full' | 'lease' = 'full',
  ): T {
    assertOpen();
    try {
      if (durability === 'lease') db.exec('PRAGMA synchronous = NORMAL');
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (durability === 'lease') db.exec('PRAGMA synchronous = FULL');
      throw unavailable(action, error);
    }
    try {
      const result = body();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw unavailable(action, error);
    } finally {
      if (durability === 'lease') db.exec('PRAGMA synchronous = FULL');
    }
  }

  function readState(): LoadedState {
    const revision = (readRevision.get() as { value: number }).value;
    const apps: Record<string, AppState> = {};
    const corrupt: CorruptRecord[] = [];
    for (const row of readApps.all() as { name: string; record: string }[]) {
      const decoded = decodeAppRecord(row.name, row.record);
      if (decoded.ok) apps[row.name] = decoded.app;
      else corrupt.push({ app: row.name, reason: decoded.reason });
    }
    return { state: { revision, apps }, corrupt };
  }

  function notify(state: DaemonState): void {
    for (const watcher of [...watchers]) {
      try {
        watcher(state);
      } catch (error) {
        if (options.onWatcherError) options.onWatcherError(error);
        else process.emitWarning(`A state store watcher threw: ${String(error)}`);
      }
    }
  }

  function makeLease(name: string, holder: string, token: string, ttlMs: number): Lease {
    return {
      name,
      holder,
      token,
      release: () =>
        settle(() => {
          if (closed) return;
          inWriteTransaction(`release the lock ${name}`, () => dropLock.run(name, token), 'lease');
        }),
      renew: () =>
        settle(() => {
          const changes = inWriteTransaction(
            `renew the lock ${name}`,
            () => renewLock.run(nowMs() + ttlMs, name, token).changes,
            'lease',
          );
          if (changes === 0) {
            throw new CutoverError(
              'CUTOVER_ERR_APP_LOCKED',
              `The lock ${name} held by ${holder} expired and was taken over; stop and start again.`,
              { lock: name, holder },
            );
          }
        }),
    };
  }

  const journal = createDeploymentJournal(db, {
    write: (action, body) => inWriteTransaction(action, body),
    read(action, body) {
      assertOpen();
      try {
        return body();
      } catch (error) {
        throw unavailable(action, error);
      }
    },
    skipped(what, reason) {
      if (options.onCorruptRecord) options.onCorruptRecord(what, reason);
      else process.emitWarning(`Skipped the stored ${what}, which cannot be read: ${reason}`);
    },
  });

  const store: SqliteStateStore = {
    path: options.path,
    ...journal,

    load: () =>
      settle(() => {
        assertOpen();
        try {
          db.exec('BEGIN');
          try {
            return readState();
          } finally {
            db.exec('COMMIT');
          }
        } catch (error) {
          throw unavailable('read the state', error);
        }
      }),

    compareAndSwap: (expectedRevision, change: StateChange) =>
      settle(() => {
        for (const app of change.put ?? []) {
          const problem = checkAppRecord(app);
          if (problem !== null) {
            throw new CutoverError(
              'CUTOVER_ERR_INTERNAL',
              `Refused to store app "${app.name}": ${problem}. Nothing was changed.`,
            );
          }
        }
        let committed: DaemonState | undefined;
        const revision = inWriteTransaction('save the state', () => {
          const current = (readRevision.get() as { value: number }).value;
          if (current !== expectedRevision) {
            throw new CutoverError(
              'CUTOVER_ERR_STATE_CONFLICT',
              `The state is at revision ${current}, not ${expectedRevision}: it changed since it was read. Read it again and retry.`,
              { expected: expectedRevision, actual: current },
            );
          }
          for (const name of change.delete ?? []) deleteApp.run(name);
          for (const app of change.put ?? []) putApp.run(app.name, JSON.stringify(app));
          const next = current + 1;
          writeRevision.run(next);
          if (watchers.size > 0) committed = readState().state;
          return next;
        });
        if (committed !== undefined) notify(committed);
        return revision;
      }),

    watch(listener) {
      watchers.add(listener);
      return () => {
        watchers.delete(listener);
      };
    },

    acquireLock: (name, holder, ttlMs, lockOptions?: { readonly takeOverFrom?: string }) =>
      settle(() => {
        if (!(ttlMs > 0)) {
          throw new CutoverError('CUTOVER_ERR_USAGE', `A lock TTL must be positive, got ${ttlMs}.`);
        }
        const token = randomUUID();
        inWriteTransaction(
          `take the lock ${name}`,
          () => {
            const now = nowMs();
            const row = readLock.get(name) as
              { holder: string; token: string; expires_at_ms: number } | undefined;
            // A live lock refuses everyone but the one holder named as taken over from.
            const held = row !== undefined && row.expires_at_ms > now;
            if (held && row.holder !== lockOptions?.takeOverFrom) {
              throw new CutoverError(
                'CUTOVER_ERR_APP_LOCKED',
                `${name} is locked by ${row.holder} (for up to ${row.expires_at_ms - now} ms more); wait for it to finish and retry.`,
                { lock: name, holder: row.holder, expiresAtMs: row.expires_at_ms },
              );
            }
            writeLock.run(name, holder, token, now + ttlMs);
          },
          'lease',
        );
        return makeLease(name, holder, token, ttlMs);
      }),

    appendHistory: (event: HistoryEvent) =>
      settle(() => {
        const row = inWriteTransaction(
          'append to the history',
          () =>
            insertHistory.get(event.app, event.type, event.at, JSON.stringify(event.data)) as {
              id: number;
            },
        );
        return { ...event, id: row.id };
      }),

    listHistory: (query) =>
      settle(() => {
        assertOpen();
        const limit = Math.min(
          Math.max(1, Math.floor(query.limit ?? DEFAULT_HISTORY_LIMIT)),
          MAX_HISTORY_LIMIT,
        );
        try {
          const rows = (
            query.app === undefined ? listAll.all(limit) : listApp.all(query.app, limit)
          ) as { id: number; app: string; type: string; at: string; data: string }[];
          return rows.map(toStoredEvent);
        } catch (error) {
          throw unavailable('read the history', error);
        }
      }),

    close() {
      if (!closed) {
        closed = true;
        watchers.clear();
        db.close();
      }
      return Promise.resolve();
    },
  };
  return store;
}

/** Runs synchronous SQLite work and hands the outcome back as a promise, as the port wants. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function toStoredEvent(row: {
  id: number;
  app: string;
  type: string;
  at: string;
  data: string;
}): StoredHistoryEvent {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(row.data);
    data =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : { value: parsed };
  } catch {
    data = { corrupt: row.data };
  }
  return { id: row.id, app: row.app, type: row.type, at: row.at, data };
}
