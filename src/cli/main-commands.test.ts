// The lazy command table of main.ts: a run loads only the command it names, and anything else
// (help, no command, an unknown word) still sees every command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandNameOf, runCli } from './main.ts';

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

void test('the command is the first word that is not a global option or its value', () => {
  assert.equal(commandNameOf(['rollback', 'shop']), 'rollback');
  assert.equal(commandNameOf(['--json', 'flip', 'shop', '--to', 'blue']), 'flip');
  assert.equal(commandNameOf(['--data-dir', 'deploy', 'rollback', 'shop']), 'rollback');
  assert.equal(commandNameOf(['--admin-url', 'x', '--admin-token', 'status', 'drill']), 'drill');
  assert.equal(commandNameOf(['--data-dir=deploy', 'status']), 'status');
});

void test('help, no command and unknown words name no command, so every command loads', () => {
  assert.equal(commandNameOf([]), undefined);
  assert.equal(commandNameOf(['--help', 'rollback']), undefined);
  assert.equal(commandNameOf(['-h']), undefined);
  assert.equal(commandNameOf(['help', 'rollback']), undefined);
  assert.equal(commandNameOf(['rollbak', 'shop']), undefined);
  assert.equal(commandNameOf(['--', 'rollback']), undefined);
  assert.equal(commandNameOf(['--data-dir']), undefined);
});

void test('program help lists every command even when a command follows --help', async () => {
  const help = await cli(['--help', 'rollback']);
  assert.equal(help.code, 0);
  for (const command of ['init', 'deploy', 'flip', 'rollback', 'abort', 'drill', 'status']) {
    assert.match(help.out, new RegExp(`^  ${command}\\b`, 'm'), command);
  }
});

void test('a command after a global option value still runs with its own flags', async () => {
  const help = await cli(['--data-dir', 'deploy', 'rollback', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: cutover rollback/);
  assert.match(help.out, /--wait-drain/);
});

void test('an unknown command is still refused with the usage exit code', async () => {
  const result = await cli(['rollbak', 'shop']);
  assert.equal(result.code, 2);
  assert.match(result.err, /unknown command 'rollbak'\n\(Did you mean rollback\?\)/);
});

void test('cutover rollback loads neither zod, yaml, undici nor pino (its start is the rollback time)', () => {
  // A child process records every module it loads, then runs the CLI as bin/cutover.js does.
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    const { runCli } = await import(${JSON.stringify(new URL('./main.ts', import.meta.url).href)});
    const code = await runCli(['rollback', 'shop', '--data-dir', ${JSON.stringify(join(tmpdir(), 'cutover-no-daemon-here'))}], { out: () => {}, err: () => {} });
    process.stdout.write(JSON.stringify({ code, loaded }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  const { code, loaded } = JSON.parse(child.stdout) as { code: number; loaded: string[] };
  assert.equal(code, 1); // No daemon there: CUTOVER_ERR_DAEMON_UNREACHABLE, after the same loads.
  assert.ok(loaded.some((url) => url.endsWith('/commands/rollback.ts')));
  const heavy = loaded.filter((url) => /\/node_modules\/(zod|yaml|undici|pino)\//.test(url));
  assert.deepEqual(heavy, []);
  assert.ok(!loaded.some((url) => url.endsWith('/commands/deploy.ts')));
});
