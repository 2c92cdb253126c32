// `cutover init` as a new user runs it: in an app folder, with no daemon. The file it writes must
// load as written; an existing file is kept unless --force; a bad name is a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAppConfigFromDir } from '../../src/config/load-app-config.ts';

const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cutover(args: readonly string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { cwd, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

async function withAppFolder(name: string, run: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cutover-init-'));
  const dir = join(root, name);
  await mkdir(dir);
  try {
    await run(dir);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

void test('init writes a commented cutover.yaml named after the folder, and it loads as written', async () => {
  await withAppFolder('My Shop', async (dir) => {
    const run = await cutover(['init'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Wrote cutover\.yaml for app my-shop \(start: node server\.js\)/);
    const text = await readFile(join(dir, 'cutover.yaml'), 'utf8');
    assert.match(text, /^# cutover\.yaml: how cutover deploys my-shop\./);
    const config = await loadAppConfigFromDir(dir);
    assert.equal(config.app, 'my-shop');
    assert.equal(config.runtime, 'process');
    assert.equal(config.start, 'node server.js');
    assert.equal(config.instances, 2);
    assert.deepEqual(
      config.smoke.map((check) => check.kind),
      ['http'],
    );
    assert.deepEqual(await readdir(dir), ['cutover.yaml']);
  });
});

void test('init --app names the app; a package.json start script becomes the start command', async () => {
  await withAppFolder('checkout', async (dir) => {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node .' } }));
    const run = await cutover(['init', '--app', 'shop', '--json'], dir);
    assert.equal(run.code, 0, run.stderr);
    const body = JSON.parse(run.stdout) as { file: string; app: string; start: string };
    assert.equal(body.app, 'shop');
    assert.equal(body.start, 'npm start');
    assert.equal(body.file, join(dir, 'cutover.yaml'));
    const config = await loadAppConfigFromDir(dir);
    assert.equal(config.app, 'shop');
    assert.equal(config.start, 'npm start');
  });
});

void test('init refuses to overwrite (exit 1) and leaves the file as it was; --force replaces it', async () => {
  await withAppFolder('shop', async (dir) => {
    const file = join(dir, 'cutover.yaml');
    await writeFile(file, 'app: mine\nstart: ./run\n');
    const refused = await cutover(['init'], dir);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^cutover: cutover\.yaml already exists here; edit it, or pass --force to replace it \(CUTOVER_ERR_CONFIG_EXISTS\)\n$/,
    );
    assert.equal(await readFile(file, 'utf8'), 'app: mine\nstart: ./run\n');
    const forced = await cutover(['init', '--force'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await loadAppConfigFromDir(dir)).app, 'shop');
    assert.deepEqual(await readdir(dir), ['cutover.yaml']);
  });
});

void test('init refuses a bad app name with a usage error (exit 2)', async () => {
  await withAppFolder('shop', async (dir) => {
    const bad = await cutover(['init', '--app', 'My_Shop'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--app "My_Shop" is not an app name.*\(CUTOVER_ERR_USAGE\)\n$/);
    assert.deepEqual(await readdir(dir), []);
  });
  await withAppFolder('___', async (dir) => {
    const folder = await cutover(['init', '--json'], dir);
    assert.equal(folder.code, 2);
    const body = JSON.parse(folder.stdout) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'CUTOVER_ERR_USAGE');
    assert.match(body.error.message, /folder name "___" is not an app name; pass --app NAME/);
  });
});

void test('init --force that cannot replace the file fails with exit 1 and leaves no temp file', async () => {
  await withAppFolder('shop', async (dir) => {
    // A non-empty directory in the file's place: rename fails for every user, root included.
    await mkdir(join(dir, 'cutover.yaml', 'keep'), { recursive: true });
    const run = await cutover(['init', '--force'], dir);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^cutover: could not write .*cutover\.yaml: .*\(CUTOVER_ERR_CONFIG_WRITE_FAILED\)\n$/,
    );
    assert.deepEqual(await readdir(dir), ['cutover.yaml']);
    assert.deepEqual(await readdir(join(dir, 'cutover.yaml')), ['keep']);
  });
});
