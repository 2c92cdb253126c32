import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { isCutoverError } from '../core/errors.ts';
import { parseDaemonOptions, type DaemonOptions } from './daemon-options.ts';

const TOKEN = 'abcdefghijklmnop0123';
const noFile = (): string => {
  throw new Error('ENOENT: no such file');
};

function parse(argv: string[], env: Record<string, string> = {}, readFile = noFile): DaemonOptions {
  const parsed = parseDaemonOptions(argv, env, readFile);
  assert.equal(parsed.help, false);
  return (parsed as { options: DaemonOptions }).options;
}

function usageError(
  argv: string[],
  env: Record<string, string>,
  pattern: RegExp,
  readFile = noFile,
): void {
  assert.throws(
    () => parseDaemonOptions(argv, env, readFile),
    (error: unknown) =>
      isCutoverError(error) &&
      error.code === 'CUTOVER_ERR_USAGE' &&
      error.exitCode === 2 &&
      pattern.test(error.message),
  );
}

describe('daemon options', () => {
  it('has safe defaults: loopback listeners, Unix socket admin only', () => {
    const options = parse([]);
    assert.equal(options.dataDir, resolve('.cutover'));
    assert.deepEqual(options.public, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(options.preview, { host: '127.0.0.1', port: 8081 });
    assert.equal(options.adminTcp, null);
    assert.equal(options.adminToken, null);
    assert.equal(options.logLevel, 'info');
    assert.equal(options.shutdownTimeoutMs, 10_000);
    assert.equal(options.workers, availableParallelism());
    assert.equal(parse(['--workers', '3']).workers, 3);
    assert.equal(parse([], { CUTOVER_WORKERS: '2' }).workers, 2);
  });

  it('takes flags over environment variables', () => {
    const env = {
      CUTOVER_DATA_DIR: '/tmp/env-dir',
      CUTOVER_PUBLIC: '127.0.0.1:9000',
      CUTOVER_PREVIEW: '[::1]:0',
    };
    const fromEnv = parse([], env);
    assert.equal(fromEnv.dataDir, '/tmp/env-dir');
    assert.deepEqual(fromEnv.public, { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(fromEnv.preview, { host: '::1', port: 0 });
    const fromFlags = parse(['--data-dir', '/tmp/flag-dir', '--public', '0.0.0.0:0'], env);
    assert.equal(fromFlags.dataDir, '/tmp/flag-dir');
    assert.deepEqual(fromFlags.public, { host: '0.0.0.0', port: 0 });
  });

  it('names the bad flag for invalid addresses, ports and levels', () => {
    usageError(['--public', 'localhost'], {}, /--public.*HOST:PORT/);
    usageError(['--preview', '127.0.0.1:70000'], {}, /--preview.*port/);
    usageError(['--public', '[nothost]:80'], {}, /IPv6/);
    usageError(['--log-level', 'loud'], {}, /--log-level/);
    usageError(['--workers', '0'], {}, /--workers/);
    usageError(['--workers', 'many'], {}, /--workers/);
    usageError(['--bogus'], {}, /bogus/);
    usageError(['extra'], {}, /extra|positional/i);
  });

  it('refuses the TCP admin listener without a token, or off loopback (D2)', () => {
    usageError(['--admin-tcp', '127.0.0.1:0'], {}, /token/);
    usageError(['--admin-tcp', '0.0.0.0:9000'], { CUTOVER_ADMIN_TOKEN: TOKEN }, /loopback/);
    usageError(['--admin-tcp', '127.0.0.1:0'], { CUTOVER_ADMIN_TOKEN: 'short' }, /too short/);
    usageError(['--admin-tcp', '127.0.0.1:0'], { CUTOVER_ADMIN_TOKEN: '' }, /empty/);
    usageError(['--admin-tcp', '127.0.0.1:0', '--admin-token-file', '/missing'], {}, /Cannot read/);
    usageError(['--admin-token-file', '/x'], {}, /only used with --admin-tcp/);
  });

  it('reads the token from a file (trimmed) or the environment', () => {
    const fromFile = parse(
      ['--admin-tcp', '127.0.0.1:0', '--admin-token-file', '/t'],
      {},
      () => `${TOKEN}\n`,
    );
    assert.equal(fromFile.adminToken, TOKEN);
    assert.deepEqual(fromFile.adminTcp, { host: '127.0.0.1', port: 0 });
    const fromEnv = parse(['--admin-tcp', '[::1]:0'], { CUTOVER_ADMIN_TOKEN: TOKEN });
    assert.equal(fromEnv.adminToken, TOKEN);
  });

  it('takes the DNS config path from --dns-config or CUTOVER_DNS_CONFIG, absolute; none by default', () => {
    assert.equal(parse([]).dnsConfig, null);
    assert.equal(parse(['--dns-config', 'dns.yaml']).dnsConfig, resolve('dns.yaml'));
    assert.equal(
      parse([], { CUTOVER_DNS_CONFIG: '/etc/cutover/dns.yaml' }).dnsConfig,
      '/etc/cutover/dns.yaml',
    );
    assert.equal(
      parse(['--dns-config', '/a.yaml'], { CUTOVER_DNS_CONFIG: '/b.yaml' }).dnsConfig,
      '/a.yaml',
    );
    usageError(['--dns-config', ' '], {}, /--dns-config needs the path/);
  });

  it('answers --help without parsing anything else', () => {
    assert.deepEqual(parseDaemonOptions(['--help', '--public', 'bad'], {}, noFile), { help: true });
  });
});
