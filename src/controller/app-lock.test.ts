import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pino } from 'pino';
import { createSystemClock } from '../adapters/clock/system/system-clock.ts';
import { createSqliteStateStore } from '../adapters/state-store/sqlite/sqlite-state-store.ts';
import { holdAppLock } from './app-lock.ts';

void it('keeps the app lock past its TTL while held, and frees it on release', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-lock-'));
  const store = await createSqliteStateStore({ path: join(dir, 'state.db') });
  const deps = { store, clock: createSystemClock(), logger: pino({ level: 'silent' }) };
  try {
    const held = await holdAppLock(deps, 'shop', 'alice (deploy v1)', { ttlMs: 80, renewMs: 20 });
    // Three TTLs later the renewals still hold it.
    await deps.clock.sleep(240);
    await assert.rejects(store.acquireLock('app:shop', 'bob', 1000), /alice \(deploy v1\)/);
    await held.release();
    const next = await holdAppLock(deps, 'shop', 'bob (flip)', { ttlMs: 80, renewMs: 20 });
    await next.release();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
