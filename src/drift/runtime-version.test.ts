import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { interpreterOf, runtimeVersion } from './runtime-version.ts';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-runtime-version-'));
  await writeFile(join(dir, 'fakelang'), '#!/bin/sh\necho\necho "fakelang 1.2.3 ($1)"\n');
  await writeFile(join(dir, 'stderrlang'), '#!/bin/sh\necho "stderrlang 9" >&2\n');
  await writeFile(join(dir, 'failing'), '#!/bin/sh\necho "oops"\nexit 3\n');
  await writeFile(join(dir, 'hanging'), '#!/bin/sh\nexec sleep 30\n');
  for (const name of ['fakelang', 'stderrlang', 'failing', 'hanging']) {
    await chmod(join(dir, name), 0o755);
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void test('the interpreter is the first plain word of start, past exec, env and assignments', () => {
  assert.equal(interpreterOf('node server.js'), 'node');
  assert.equal(interpreterOf('  exec node ../app/server.js'), 'node');
  assert.equal(interpreterOf('NODE_ENV=production env python3 -m app'), 'python3');
  assert.equal(interpreterOf('./bin/server --port 1'), './bin/server');
  assert.equal(interpreterOf('$HOME/bin/app'), null);
  assert.equal(interpreterOf('"my app"'), null);
  assert.equal(interpreterOf('A=1 B=2'), null);
  // A list of commands: the last one is the app (the others run before it).
  assert.equal(interpreterOf('sleep 2; exec node server.js'), 'node');
  assert.equal(interpreterOf('cd app && exec ruby app.rb'), 'ruby');
  assert.equal(interpreterOf('./migrate || true\n python3 -m app;'), 'python3');
});

void test('node --version is run with the instances PATH', async () => {
  const version = await runtimeVersion('node server.js', { cwd: dir, env: process.env });
  assert.equal(version, `node ${process.version}`);
});

void test('the program is found on the given PATH, its first line kept (stdout, else stderr)', async () => {
  const env = { PATH: `${dir}:/usr/bin:/bin` };
  assert.equal(
    await runtimeVersion('fakelang app.fl', { cwd: dir, env }),
    'fakelang fakelang 1.2.3 (--version)',
  );
  assert.equal(await runtimeVersion('stderrlang x', { cwd: dir, env }), 'stderrlang stderrlang 9');
});

void test('a missing program, a failing one, or no start at all is "unknown", never an error', async () => {
  const env = { PATH: `${dir}:/usr/bin:/bin` };
  assert.equal(await runtimeVersion('no-such-interpreter-x a', { cwd: dir, env }), 'unknown');
  assert.equal(await runtimeVersion('failing', { cwd: dir, env }), 'unknown');
  assert.equal(await runtimeVersion(null, { cwd: dir, env }), 'unknown');
  assert.equal(await runtimeVersion('node x', { cwd: join(dir, 'missing'), env }), 'unknown');
});

void test('a program that does not answer is killed at the timeout: "unknown"', async () => {
  const started = performance.now();
  const version = await runtimeVersion('hanging', {
    cwd: dir,
    env: { PATH: `${dir}:/usr/bin:/bin` },
    timeoutMs: 200,
  });
  assert.equal(version, 'unknown');
  assert.ok(performance.now() - started < 5_000);
});

void test('an interpreter is asked once until its file changes (an upgrade in place)', async () => {
  const env = { PATH: `${dir}:/usr/bin:/bin` };
  const calls = join(dir, 'counted-calls');
  const script = (version: string): string =>
    `#!/bin/sh\necho x >> "${calls}"\necho "countlang ${version}"\n`;
  await writeFile(join(dir, 'countlang'), script('1.0'));
  await chmod(join(dir, 'countlang'), 0o755);
  const ask = (): Promise<string> => runtimeVersion('countlang app', { cwd: dir, env });
  assert.equal(await ask(), 'countlang countlang 1.0');
  assert.equal(await ask(), 'countlang countlang 1.0');
  assert.equal((await readFile(calls, 'utf8')).split('\n').filter(Boolean).length, 1);
  // A new build of the interpreter: another size and modification time.
  await writeFile(join(dir, 'countlang'), script('1.10'));
  assert.equal(await ask(), 'countlang countlang 1.10');
  assert.equal((await readFile(calls, 'utf8')).split('\n').filter(Boolean).length, 2);
});
