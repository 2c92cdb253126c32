import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DRIFT_SALT_FILE, loadDriftSalt } from './drift-salt.ts';

void test('the salt is created once, mode 0600, and read back the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-drift-salt-'));
  try {
    const first = await loadDriftSalt(dir);
    assert.equal(first.length, 32);
    assert.equal((await stat(join(dir, DRIFT_SALT_FILE))).mode & 0o777, 0o600);
    assert.deepEqual(await loadDriftSalt(dir), first);
    const [a, b] = await Promise.all([loadDriftSalt(dir), loadDriftSalt(dir)]);
    assert.deepEqual(a, first);
    assert.deepEqual(b, first);
    // A looser mode set by hand is tightened again.
    await chmod(join(dir, DRIFT_SALT_FILE), 0o644);
    await loadDriftSalt(dir);
    assert.equal((await stat(join(dir, DRIFT_SALT_FILE))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('each data dir gets its own salt; a damaged salt file is refused, naming it', async () => {
  const one = await mkdtemp(join(tmpdir(), 'cutover-drift-salt-'));
  const two = await mkdtemp(join(tmpdir(), 'cutover-drift-salt-'));
  try {
    assert.notDeepEqual(await loadDriftSalt(one), await loadDriftSalt(two));
    await writeFile(join(two, DRIFT_SALT_FILE), 'not hex');
    await assert.rejects(loadDriftSalt(two), /drift-salt is not a drift salt.*remove it/);
  } finally {
    await rm(one, { recursive: true, force: true });
    await rm(two, { recursive: true, force: true });
  }
});
