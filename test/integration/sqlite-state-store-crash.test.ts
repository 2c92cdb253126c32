// QUALITY.md E7: acknowledged state survives a crash, and the state file is never half-written.
// A child process runs compareAndSwap (or saves deployment records) in a loop and prints each
// acknowledged write; we kill -9 it mid-loop, reopen, and check that what is stored agrees.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import { createSqliteStateStore } from '../../src/adapters/state-store/sqlite/sqlite-state-store.ts';
import type { DeploymentRecord } from '../../src/ports/state-store.ts';
import { sampleDeployment } from '../contract/state-store.ts';

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

// Each deployment record spans several database pages, so a torn write would show.
const DEPLOYMENT_PAYLOAD_CHARS = 20_000;

/** The record the deployment child saves as its `n`th; the parent rebuilds it to compare. */
function crashDeployment(
  n: number,
  build: typeof sampleDeployment = sampleDeployment,
): DeploymentRecord {
  const record = build(
    `d${String(n).padStart(7, '0')}`,
    n % 2 === 0 ? 'shop' : 'blog',
    n,
    n % 3 !== 0,
  );
  return { ...record, report: { n, payload: String(n % 10).repeat(DEPLOYMENT_PAYLOAD_CHARS) } };
}

// The child rebuilds each record with the very same function (its source, types stripped).
const DEPLOYMENT_CHILD = `
const { createSqliteStateStore } = await import(process.env.STORE_URL);
const { sampleDeployment } = await import(process.env.CONTRACT_URL);
const crashDeployment = ${crashDeployment.toString()};
const DEPLOYMENT_PAYLOAD_CHARS = ${DEPLOYMENT_PAYLOAD_CHARS};
const store = await createSqliteStateStore({ path: process.env.STATE_PATH });
for (let n = Number(process.env.FIRST); n < 1_000_000; n += 1) {
  const record = crashDeployment(n, sampleDeployment);
  await store.saveDeployment(record);
  await store.putEffect({ key: record.id + ':flip', status: 'done', result: { n }, at: 'x' });
  // Rewrite the first record every time: a replace must be whole too.
  await store.saveDeployment({ ...crashDeployment(0, sampleDeployment), report: { latest: n } });
  process.stdout.write(n + '\\n');
}
`;

function runUntilKilled(
  path: string,
  script = CHILD,
  extraEnv: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script], {
      env: {
        ...process.env,
        ...extraEnv,
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

void it('kill -9 in the middle of saving deployment records: every stored record decodes whole', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-crash-'));
  const path = join(dir, 'state.db');
  try {
    // Record 0 is the one rewritten on every write; the numbered ones start at 1.
    let next = 1;
    for (let round = 0; round < ROUNDS; round += 1) {
      const lastAcked = await runUntilKilled(path, DEPLOYMENT_CHILD, { FIRST: String(next) });
      assert.ok(lastAcked >= next, `round ${round} made progress`);
      const skipped: string[] = [];
      const store = await createSqliteStateStore({
        path,
        onCorruptRecord: (what, reason) => skipped.push(`${what}: ${reason}`),
      });
      try {
        const listed = await store.listDeployments({ limit: 1000 });
        assert.deepEqual(skipped, []);
        assert.ok(listed.length < 1000, 'the list holds every record written');
        const stored = listed.filter((record) => record.id !== crashDeployment(0).id);
        const numbers = stored.map((record) => Number(record.report.n)).sort((a, b) => a - b);
        // Every acknowledged record is there (the one in flight at the kill may be too).
        const top = numbers.at(-1) ?? -1;
        assert.ok(top === lastAcked || top === lastAcked + 1, `newest ${top}, acked ${lastAcked}`);
        assert.deepEqual(
          numbers,
          Array.from({ length: top }, (_, i) => i + 1),
        );
        // Each one decodes to exactly what was saved, and its effect was journaled in order.
        for (const n of numbers) {
          const expected = crashDeployment(n);
          assert.deepEqual(await store.getDeployment(expected.id), expected);
          const effect = await store.getEffect(`${expected.id}:flip`);
          if (n <= lastAcked) assert.deepEqual(effect?.result, { n });
        }
        // The record rewritten on every round is whole: one of the last two versions.
        const first = await store.getDeployment(crashDeployment(0).id);
        const latest = Number(first?.report.latest);
        assert.ok(latest === lastAcked || latest === lastAcked + 1, `latest ${latest}`);
        // Like a resume: redo the write that was in flight at the kill (a save replaces).
        next = lastAcked + 1;
      } finally {
        await store.close();
      }
    }
    const db = new DatabaseSync(path);
    assert.deepEqual({ ...db.prepare('PRAGMA integrity_check').get() }, { integrity_check: 'ok' });
    db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
