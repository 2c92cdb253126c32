import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../core/errors.ts';
import { prepareDataDir } from './data-dir.ts';

describe('data dir', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-datadir-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing data dir (and its parents) with mode 0700', async () => {
    const root = join(dir, 'a', 'b', '.cutover');
    const paths = await prepareDataDir(root);
    assert.equal(paths.adminSocket, join(root, 'admin.sock'));
    assert.equal((await stat(root)).mode & 0o777, 0o700);
  });

  it('uses an existing private or read-only-shared dir without changing its mode', async () => {
    const root = join(dir, 'shared-read');
    await prepareDataDir(root);
    await chmod(root, 0o755);
    await prepareDataDir(root);
    assert.equal((await stat(root)).mode & 0o777, 0o755);
  });

  it('refuses a dir others can write to, like /tmp, without touching it', async () => {
    const root = join(dir, 'world-writable');
    await prepareDataDir(root);
    await chmod(root, 0o1777);
    await assert.rejects(
      prepareDataDir(root),
      (error: unknown) =>
        isCutoverError(error) &&
        error.code === 'CUTOVER_ERR_CONFIG_INVALID' &&
        /writable by other users/.test(error.message),
    );
    assert.equal((await stat(root)).mode & 0o7777, 0o1777);
  });

  it('refuses a data dir too deep for a Unix socket path, before creating anything', async () => {
    const root = join(dir, 'x'.repeat(120));
    await assert.rejects(prepareDataDir(root), /too deep for the admin socket/);
    await assert.rejects(stat(root), /ENOENT/);
  });

  it('refuses a path that is a file', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await assert.rejects(prepareDataDir(file), /not a directory/);
  });
});
