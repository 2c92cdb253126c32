// QUALITY.md E7: acknowledged state survives a crash, and the state file is never half-written.
// A child process runs compareAndSwap in a loop and prints each acknowledged revision; we
// kill -9 it mid-loop, reopen, and check that the revision and the data agree.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import { createSqliteStateStore } from '../../src/adapters/state-store/sqlite/sqlite-state-store.ts';

const ROUNDS = 4;
const MIN_ACKS_BEFORE_KILL = 20;
const ROUND_TIMEOUT_MS = 20_000;

const CHILD = `
const { createSqliteStateStore } = await import(process.env.STORE_URL);
const { sampleApp } = await import(process.env.CONTRACT_URL);
const store = await createSqliteStateStore({ path: process.env.STATE_PATH });
let { state } = await store.load();
let revision = state.revision;
for (let i = 0; i < 1_000_000; i += 1) {
  const release = 'r' + (revision + 1);
  revision = await store.compareAndSwap(revision, {
    put: [sampleApp('shop', release), sampleApp('blog', release, 'green')],
  });
  process.stdout.write(revision + '\\n');
}
`;

function runUntilKilled(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', CHILD], {
      env: {
        ...process.env,
        STATE_PATH: path,
        STORE_URL: new URL(
          '../../src/adapters/state-store/sqlite/sqlite-state-store.ts',
          import.meta.url,
        ).href,
        CONTRACT_URL: new URL('../contract/state-store.ts', import.meta.url).href,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastAcked = 0;
    let acks = 0;
    let buffered = '';
    let stderr = '';
    let killScheduled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child made only ${acks} writes in ${ROUND_TIMEOUT_MS} ms: ${stderr}`));
    }, ROUND_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        lastAcked = Number(line);
        acks += 1;
      }
      if (acks >= MIN_ACKS_BEFORE_KILL && !killScheduled) {
        killScheduled = true;
        // A random moment, so the kill lands anywhere inside a write.
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
      }
    });
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited on its own: ${stderr}`));
      else resolve(lastAcked);
    });
  });
}

void it('kill -9 in the middle of compareAndSwap calls: reopened state is whole and acknowledged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-crash-'));
  const path = join(dir, 'state.db');
  try {
    let previous = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const lastAcked = await runUntilKilled(path);
      assert.ok(lastAcked > previous, `round ${round} made progress`);
      const store = await createSqliteStateStore({ path });
      const { state, corrupt } = await store.load();
      await store.close();
      assert.deepEqual(corrupt, []);
      // Every acknowledged write is there; at most the one in flight at the kill is extra.
      assert.ok(state.revision >= lastAcked, `revision ${state.revision} >= acked ${lastAcked}`);
      assert.ok(state.revision <= lastAcked + 1, `revision ${state.revision} <= ${lastAcked + 1}`);
      // Both records were written in the same transaction as the revision: all agree.
      assert.equal(state.apps.shop?.environments.blue.release?.id, `r${state.revision}`);
      assert.equal(state.apps.blog?.environments.green.release?.id, `r${state.revision}`);
      previous = state.revision;
    }
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare('PRAGMA integrity_check').get() }, { integrity_check: 'ok' });
    db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
