import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  runStateStoreContract,
  sampleApp,
  sampleDeployment,
} from '../../../../test/contract/state-store.ts';
import { isCutoverError } from '../../../core/errors.ts';
import { createSqliteStateStore, SCHEMA_VERSION } from './sqlite-state-store.ts';

async function tempDbPath(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-sqlite-'));
  return { dir, path: join(dir, 'state.db') };
}

runStateStoreContract('SqliteStateStore', async () => {
  const { dir, path } = await tempDbPath();
  return {
    // Skipped rows are reported through onCorruptRecord; its own test below checks the call.
    open: () => createSqliteStateStore({ path, onCorruptRecord: () => undefined }),
    injectCorruptApp: (app, raw) => {
      const db = new DatabaseSync(path);
      db.prepare('INSERT OR REPLACE INTO apps (name, record) VALUES (?, ?)').run(app, raw);
      db.close();
      return Promise.resolve();
    },
    injectCorruptDeployment: (id, app, startedAt, raw) => {
      const db = new DatabaseSync(path);
      db.prepare(
        'INSERT OR REPLACE INTO deployments (id, app, active, started_at, record) VALUES (?, ?, 1, ?, ?)',
      ).run(id, app, startedAt, raw);
      db.close();
      return Promise.resolve();
    },
    injectCorruptEffect: (key, status, result) => {
      const db = new DatabaseSync(path);
      db.prepare(
        'INSERT OR REPLACE INTO effects (key, status, result, at) VALUES (?, ?, ?, ?)',
      ).run(key, status, result, 'x');
      db.close();
      return Promise.resolve();
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

void describe('SqliteStateStore', () => {
  void it('creates its folder, switches the file to WAL and records the schema version', async () => {
    const { dir } = await tempDbPath();
    const path = join(dir, 'nested', 'state.db');
    const store = await createSqliteStateStore({ path });
    await store.close();
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
    assert.deepEqual(
      { ...db.prepare('PRAGMA user_version').get() },
      { user_version: SCHEMA_VERSION },
    );
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses a state file written by a newer schema, naming both versions', async () => {
    const { dir, path } = await tempDbPath();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(createSqliteStateStore({ path }), (error) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_STATE_UNAVAILABLE');
      assert.match(error.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
      return true;
    });
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses to store a record of the wrong shape and changes nothing', async () => {
    const { dir, path } = await tempDbPath();
    const store = await createSqliteStateStore({ path });
    const bad = { ...sampleApp('shop'), live: 'purple' } as unknown as ReturnType<typeof sampleApp>;
    await assert.rejects(store.compareAndSwap(0, { put: [bad] }), /Refused to store app "shop"/);
    assert.equal((await store.load()).state.revision, 0);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('a write that cannot get the database is unavailable and changes nothing', async () => {
    const { dir, path } = await tempDbPath();
    const store = await createSqliteStateStore({ path, busyTimeoutMs: 50 });
    await store.compareAndSwap(0, { put: [sampleApp('shop', 'v1')] });
    const blocker = new DatabaseSync(path);
    blocker.exec('BEGIN IMMEDIATE');
    await assert.rejects(store.compareAndSwap(1, { put: [sampleApp('shop', 'v2')] }), (error) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_STATE_UNAVAILABLE');
      assert.match(error.message, /nothing was changed/);
      return true;
    });
    await assert.rejects(store.acquireLock('app:shop', 'x', 1000), /nothing was changed/);
    blocker.exec('ROLLBACK');
    blocker.close();
    const { state } = await store.load();
    assert.equal(state.revision, 1);
    assert.equal(state.apps.shop?.environments.blue.release?.id, 'v1');
    // And it recovers once the file is free again.
    assert.equal(await store.compareAndSwap(1, { put: [sampleApp('shop', 'v2')] }), 2);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('20 threads racing for one lock on one file: exactly one winner', async () => {
    const { dir, path } = await tempDbPath();
    await (await createSqliteStateStore({ path })).close();
    const moduleUrl = new URL('./sqlite-state-store.ts', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.moduleUrl).then(async ({ createSqliteStateStore }) => {
        const store = await createSqliteStateStore({ path: workerData.path });
        const start = new Int32Array(workerData.gate);
        Atomics.wait(start, 0, 0);
        try {
          const lease = await store.acquireLock('app:shop', 'thread-' + workerData.i, 60000);
          parentPort.postMessage({ won: true, holder: lease.holder });
        } catch (error) {
          parentPort.postMessage({ won: false, code: error.code, message: error.message });
        } finally {
          await store.close();
        }
      });
    `;
    const gate = new SharedArrayBuffer(4);
    const results = await new Promise<{ won: boolean; code?: string; message?: string }[]>(
      (resolve, reject) => {
        const out: { won: boolean; code?: string; message?: string }[] = [];
        for (let i = 0; i < 20; i += 1) {
          const worker = new Worker(code, { eval: true, workerData: { moduleUrl, path, gate, i } });
          worker.once('message', (message: { won: boolean; code?: string; message?: string }) => {
            out.push(message);
            if (out.length === 20) resolve(out);
          });
          worker.once('error', reject);
        }
        // Let the threads open the file, then release them together.
        setTimeout(() => {
          Atomics.store(new Int32Array(gate), 0, 1);
          Atomics.notify(new Int32Array(gate), 0);
        }, 500);
      },
    );
    assert.equal(results.filter((r) => r.won).length, 1);
    for (const loser of results.filter((r) => !r.won)) {
      assert.equal(loser.code, 'CUTOVER_ERR_APP_LOCKED');
      assert.match(loser.message ?? '', /thread-\d+/);
    }
    await rm(dir, { recursive: true, force: true });
  });

  void it('upgrades a version 1 file in place: its apps stay, deployments can be saved', async () => {
    const { dir, path } = await tempDbPath();
    // The schema as version 1 wrote it, before deployments and effects existed.
    const old = new DatabaseSync(path);
    old.exec(`
      PRAGMA journal_mode = WAL;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta (key, value) VALUES ('revision', 3);
      CREATE TABLE apps (name TEXT PRIMARY KEY, record TEXT NOT NULL);
      CREATE TABLE locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token TEXT NOT NULL, expires_at_ms INTEGER NOT NULL);
      CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, type TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX history_app ON history (app, id);
      PRAGMA user_version = 1;
    `);
    old
      .prepare('INSERT INTO apps (name, record) VALUES (?, ?)')
      .run('shop', JSON.stringify(sampleApp('shop', 'v3')));
    old.close();
    const store = await createSqliteStateStore({ path });
    assert.deepEqual((await store.load()).state, {
      revision: 3,
      apps: { shop: sampleApp('shop', 'v3') },
    });
    const record = sampleDeployment('d1', 'shop', 1);
    await store.saveDeployment(record);
    await store.putEffect({ key: 'd1:start', status: 'begun', result: null, at: 'x' });
    assert.deepEqual(await store.listDeployments({ app: 'shop', active: true }), [record]);
    await store.close();
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare('PRAGMA user_version').get() }, { user_version: 2 });
    assert.deepEqual(
      db
        .prepare(`SELECT name FROM sqlite_master WHERE name LIKE 'deployments%' ORDER BY name`)
        .all()
        .map((row) => row.name),
      ['deployments', 'deployments_app_active'],
    );
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('refuses a deployment or effect of the wrong shape and changes nothing', async () => {
    const { dir, path } = await tempDbPath();
    const store = await createSqliteStateStore({ path });
    const good = sampleDeployment('d1', 'shop', 1);
    await store.saveDeployment(good);
    const bad: unknown[] = [
      { ...sampleDeployment('d1', 'shop', 2), active: 'yes' },
      { ...sampleDeployment('d1', 'shop', 2), requestedBy: undefined },
      { ...sampleDeployment('d1', 'shop', 2), state: { ...good.state, id: 'd9' } },
      { ...sampleDeployment('d1', 'shop', 2), app: 'blog' },
      { ...sampleDeployment('d1', 'shop', 2), request: { instances: 10n } },
    ];
    for (const record of bad) {
      await assert.rejects(
        store.saveDeployment(record as typeof good),
        /Refused to store deployment "d1": .+\. Nothing was changed\./,
      );
    }
    assert.deepEqual(await store.getDeployment('d1'), good);
    await assert.rejects(
      store.putEffect({ key: 'd1:flip', status: 'started' as 'begun', result: null, at: 'x' }),
      /Refused to store effect "d1:flip": status "started"/,
    );
    await assert.rejects(
      store.putEffect({ key: '', status: 'begun', result: null, at: 'x' }),
      /the key is empty/,
    );
    assert.equal(await store.getEffect('d1:flip'), null);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('reports each deployment row a list skips, with the reason', async () => {
    const { dir, path } = await tempDbPath();
    const skipped: string[] = [];
    const store = await createSqliteStateStore({
      path,
      onCorruptRecord: (what, reason) => skipped.push(`${what}: ${reason}`),
    });
    await store.saveDeployment(sampleDeployment('d1', 'shop', 1));
    const db = new DatabaseSync(path);
    db.prepare(
      `INSERT INTO deployments (id, app, active, started_at, record) VALUES ('d2', 'shop', 1, 'z', '{')`,
    ).run();
    db.prepare(
      `INSERT INTO deployments (id, app, active, started_at, record) VALUES ('d3', 'shop', 1, 'z', ?)`,
    ).run(JSON.stringify(sampleDeployment('other', 'shop', 1)));
    db.close();
    assert.deepEqual(
      (await store.listDeployments({})).map((record) => record.id),
      ['d1'],
    );
    assert.equal(skipped.length, 2);
    assert.match(skipped[0] ?? '', /^deployment "d3": record names deployment "other"/);
    assert.match(skipped[1] ?? '', /^deployment "d2": invalid JSON/);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
});
