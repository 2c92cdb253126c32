import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findInstanceRecords, stopRecordedInstances } from './demo-instances.ts';

/** A detached process (its own group leader) that ignores SIGTERM when asked to. */
async function startDetached(ignoreTerm: boolean): Promise<ChildProcess> {
  const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('up');`;
  const child = spawn(process.execPath, ['-e', code], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await once(child.stdout, 'data');
  return child;
}

async function startTimeOf(pid: number): Promise<string> {
  const line = await readFile(`/proc/${pid}/stat`, 'utf8');
  return line.slice(line.lastIndexOf(')') + 2).split(' ')[22 - 3] ?? '';
}

function record(child: ChildProcess, startTimeTicks: string): Record<string, unknown> {
  return {
    version: 1,
    app: 'shop',
    release: 'v1',
    color: 'blue',
    id: `shop-blue-${child.pid}`,
    pid: child.pid,
    pgid: child.pid,
    port: 1,
    host: '127.0.0.1',
    startTimeTicks,
    startedAt: new Date().toISOString(),
    command: 'node',
    dir: '/',
    env: {},
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 1000,
    logPath: '/dev/null',
  };
}

function exited(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return once(child, 'exit');
}

void test('stops every recorded process group under the data dir, and only those', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-demo-instances-'));
  const polite = await startDetached(false);
  const stubborn = await startDetached(true);
  // Its record names a start time it does not have: a later process reusing the pid.
  const stranger = await startDetached(false);
  try {
    const appDir = join(dataDir, 'runtime', 'shop');
    await mkdir(appDir, { recursive: true });
    await writeFile(join(dataDir, 'daemon.json'), JSON.stringify({ pid: 1, public: {} }));
    await writeFile(join(appDir, 'broken.json'), '{"version":');
    await writeFile(
      join(appDir, 'a.json'),
      JSON.stringify(record(polite, await startTimeOf(polite.pid ?? 0))),
    );
    await writeFile(
      join(appDir, 'b.json'),
      JSON.stringify(record(stubborn, await startTimeOf(stubborn.pid ?? 0))),
    );
    await writeFile(join(appDir, 'c.json'), JSON.stringify(record(stranger, '1')));

    assert.equal((await findInstanceRecords(dataDir)).length, 3);
    const politeExit = exited(polite);
    const stubbornExit = exited(stubborn);
    assert.equal(await stopRecordedInstances(dataDir, 300), 2);
    await politeExit;
    await stubbornExit;
    assert.equal(polite.signalCode, 'SIGTERM');
    assert.equal(stubborn.signalCode, 'SIGKILL');
    assert.equal(stranger.exitCode, null);
    assert.equal(stranger.signalCode, null);
    // Nothing left to stop.
    assert.equal(await stopRecordedInstances(dataDir, 300), 0);
  } finally {
    for (const child of [polite, stubborn, stranger]) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  }
});

void test('a missing data dir holds no records', async () => {
  assert.deepEqual(await findInstanceRecords(join(tmpdir(), 'cutover-no-such-dir-xyz')), []);
});
