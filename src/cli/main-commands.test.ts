// The lazy command table of main.ts: a run loads only the command it names, and anything else
// (help, no command, an unknown word) still sees every command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
