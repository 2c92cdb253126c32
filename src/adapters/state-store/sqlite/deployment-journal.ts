// The deployment records and the effect journal of the SQLite store: two tables beside the app
// state, written with the same durability (one `BEGIN IMMEDIATE` transaction each, WAL with
// synchronous=FULL), so a record or an effect entry the controller was told is saved survives a
// crash, and a kill -9 mid-write leaves the old row or the new one, never half of it.
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { CutoverError } from '../../../core/errors.ts';
import type { DeploymentRecord, EffectEntry, StateStore } from '../../../ports/state-store.ts';
import {
  checkDeploymentRecord,
  checkEffectEntry,
  decodeDeploymentRecord,
  decodeEffectEntry,
} from './deployment-record-schema.ts';

export const DEFAULT_DEPLOYMENT_LIMIT = 50;
export const MAX_DEPLOYMENT_LIMIT = 1000;

/** Added in schema version 2; `IF NOT EXISTS` so a version 1 file gains them in place. */
export const DEPLOYMENT_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS deployments (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    active INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS deployments_app_active ON deployments (app, active);
  CREATE TABLE IF NOT EXISTS effects (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    at TEXT NOT NULL
  );
`;

/** How the journal reaches the store's connection; the store owns open/closed and errors. */
export interface JournalAccess {
  /** Runs `body` in one durable write transaction (rejects when the store is closed). */
  write<T>(action: string, body: () => T): T;
  /** Runs `body` as a read (rejects when the store is closed). */
  read<T>(action: string, body: () => T): T;
  /** A stored row that does not decode and was left out of a list. */
  skipped(what: string, reason: string): void;
}

export type DeploymentJournal = Pick<
  StateStore,
  'saveDeployment' | 'getDeployment' | 'listDeployments' | 'putEffect' | 'getEffect'
>;

type DeploymentQuery = Parameters<StateStore['listDeployments']>[0];

/** A limit the way listHistory takes one: clamped to 1..MAX, a missing or NaN one is the default. */
function deploymentLimit(limit: number | undefined): number {
  if (limit === undefined || Number.isNaN(limit)) return DEFAULT_DEPLOYMENT_LIMIT;
  return Math.min(Math.max(1, Math.floor(limit)), MAX_DEPLOYMENT_LIMIT);
}

function refused(what: string, problem: string): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_INTERNAL',
    `Refused to store ${what}: ${problem}. Nothing was changed.`,
  );
}

function toJson(what: string, value: unknown): string {
  try {
    // `undefined` (e.g. the result of a `begun` effect) is stored as null.
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    throw refused(what, `it is not JSON data (${(error as Error).message})`);
  }
}

/** Runs synchronous SQLite work and hands the outcome back as a promise, as the port wants. */
function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export function createDeploymentJournal(
  db: DatabaseSync,
  access: JournalAccess,
): DeploymentJournal {
  const putDeployment = db.prepare(
    'INSERT INTO deployments (id, app, active, started_at, record) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET app = excluded.app, active = excluded.active, started_at = excluded.started_at, record = excluded.record',
  );
  const readDeployment = db.prepare('SELECT record FROM deployments WHERE id = ?');
  const writeEffect = db.prepare(
    'INSERT INTO effects (key, status, result, at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = excluded.status, result = excluded.result, at = excluded.at',
  );
  const readEffect = db.prepare('SELECT key, status, result, at FROM effects WHERE key = ?');
  // One statement per filter combination, so each can use the (app, active) index.
  const listStatements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  function listStatement(byApp: boolean, byActive: boolean) {
    const key = `${byApp}/${byActive}`;
    let statement = listStatements.get(key);
    if (statement === undefined) {
      const where = [byApp ? 'app = ?' : '', byActive ? 'active = ?' : ''].filter(Boolean);
      statement = db.prepare(
        `SELECT id, record FROM deployments ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC`,
      );
      listStatements.set(key, statement);
    }
    return statement;
  }

  return {
    saveDeployment: (record: DeploymentRecord) =>
      settle(() => {
        const what = `deployment "${String(record.id)}"`;
        const problem = checkDeploymentRecord(record);
        if (problem !== null) throw refused(what, problem);
        const json = toJson(what, record);
        access.write(`save the ${what}`, () =>
          putDeployment.run(
            record.id,
            record.app,
            record.active ? 1 : 0,
            record.state.startedAt,
            json,
          ),
        );
      }),

    getDeployment: (id: string) =>
      settle(() => {
        const row = access.read(`read the deployment "${id}"`, () => readDeployment.get(id)) as
          { record: string } | undefined;
        if (row === undefined) return null;
        const decoded = decodeDeploymentRecord(id, row.record);
        if (!decoded.ok) {
          throw new CutoverError(
            'CUTOVER_ERR_STATE_CORRUPT',
            `The stored deployment "${id}" cannot be read (${decoded.reason}); other deployments are unaffected. Save it again or start a new deployment.`,
            { deployment: id, reason: decoded.reason },
          );
        }
        return decoded.value;
      }),

    listDeployments: (query: DeploymentQuery) =>
      settle(() => {
        const limit = deploymentLimit(query.limit);
        const params: SQLInputValue[] = [];
        if (query.app !== undefined) params.push(query.app);
        if (query.active !== undefined) params.push(query.active ? 1 : 0);
        return access.read('list the deployments', () => {
          const statement = listStatement(query.app !== undefined, query.active !== undefined);
          const records: DeploymentRecord[] = [];
          // Iterate rather than LIMIT in SQL: a skipped bad row must not shorten the page.
          for (const row of statement.iterate(...params) as Iterable<{
            id: string;
            record: string;
          }>) {
            const decoded = decodeDeploymentRecord(row.id, row.record);
            if (!decoded.ok) {
              access.skipped(`deployment "${row.id}"`, decoded.reason);
              continue;
            }
            records.push(decoded.value);
            if (records.length >= limit) break;
          }
          return records;
        });
      }),

    putEffect: (entry: EffectEntry) =>
      settle(() => {
        const what = `effect "${String(entry.key)}"`;
        const problem = checkEffectEntry(entry);
        if (problem !== null) throw refused(what, problem);
        const result = toJson(what, entry.result);
        access.write(`journal the ${what}`, () =>
          writeEffect.run(entry.key, entry.status, result, entry.at),
        );
      }),

    getEffect: (key: string) =>
      settle(() => {
        const row = access.read(`read the effect "${key}"`, () => readEffect.get(key)) as
          { key: string; status: string; result: string; at: string } | undefined;
        if (row === undefined) return null;
        const decoded = decodeEffectEntry(row);
        if (!decoded.ok) {
          throw new CutoverError(
            'CUTOVER_ERR_STATE_CORRUPT',
            `The journaled effect "${key}" cannot be read (${decoded.reason}); reconcile it with its target before resuming.`,
            { effect: key, reason: decoded.reason },
          );
        }
        return decoded.value;
      }),
  };
}
