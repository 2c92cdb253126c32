import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../core/errors.ts';
import { acquirePidLock } from './pid-lock.ts';

describe('pid lock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-pid-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a free lock and releases it', async () => {
    const path = join(dir, 'free.pid');
    const lock = await acquirePidLock(path);
    assert.equal(lock.tookOver, false);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await lock.release();
    await assert.rejects(readFile(path), /ENOENT/);
  });

  it('refuses a lock held by a live process, naming its pid', async () => {
    const path = join(dir, 'live.pid');
    // The parent of this test runner is alive for the whole test.
    await writeFile(path, `${process.ppid}\n`);
    await assert.rejects(
      acquirePidLock(path),
      (error: unknown) => isCutoverError(error) && error.message.includes(`pid ${process.ppid}`),
    );
  });

  it('takes over the lock of a dead process', async () => {
    const path = join(dir, 'dead.pid');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    assert.ok(deadPid > 0);
    await writeFile(path, `${deadPid}\n`);
    const lock = await acquirePidLock(path);
    assert.equal(lock.tookOver, true);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await lock.release();
  });

  it('takes over an empty lock file left by a crash mid-write', async () => {
    const path = join(dir, 'empty.pid');
    await writeFile(path, '');
    const lock = await acquirePidLock(path);
    assert.equal(lock.tookOver, true);
    await lock.release();
  });
});
