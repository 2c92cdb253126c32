// A throwaway BIND 9 for tests: its own directory with named.conf, a TSIG key and a zone file
// for `example.test.` that the key may update, listening on 127.0.0.1 at a free port, run in
// the foreground as the current user. `stop()` ends it and removes the directory; so does exit.
//
//   const bind = await startBind();
//   await dig(bind, 'shop.example.test.', 'A');   // { addresses, ttl }
//   await resolve4(bind, 'shop.example.test.');   // ['127.0.0.2'], as a client's stub resolver
//   await bind.stop();
import { execFile, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const NAMED_BIN = '/usr/sbin/named';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5000;
const INSTALL_HINT =
  'BIND 9 was not found (/usr/sbin/named and dig): install it with `apt-get install -y bind9 bind9-dnsutils` (.ci/run does)';

export const TEST_ZONE = 'example.test.';
export const TEST_KEY_NAME = 'cutover-test';

export interface TestBind {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, as the DNS config's `server` takes it. */
  readonly server: string;
  readonly dir: string;
  readonly zone: string;
  readonly key: { readonly name: string; readonly secret: string };
  /** A file holding the key's base64 secret (the DNS config's `key.secretFile`). */
  readonly secretFile: string;
  /** Everything named printed so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface StartBindOptions {
  /** Records added to the zone file (lines such as `shop IN A 127.0.0.2`). */
  readonly records?: readonly string[];
  /** A second key the server knows but the zone does not allow to update (REFUSED tests). */
  readonly otherKey?: { readonly name: string; readonly secret: string };
}

/** Fails with the install hint when BIND 9 is missing: the DNS tests never skip. */
export function assertBindInstalled(): void {
  if (!existsSync(NAMED_BIN)) throw new Error(INSTALL_HINT);
}

/** A port free for both UDP and TCP on 127.0.0.1 right now (named cannot take port 0). */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (udpFree && port !== 0) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1');
}

function namedConf(dir: string, port: number, secret: string, options: StartBindOptions): string {
  const other =
    options.otherKey === undefined
      ? ''
      : `key "${options.otherKey.name}" { algorithm hmac-sha256; secret "${options.otherKey.secret}"; };\n`;
  return `options {
  directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
key "${TEST_KEY_NAME}" { algorithm hmac-sha256; secret "${secret}"; };
${other}zone "${TEST_ZONE.slice(0, -1)}" {
  type primary;
  file "${join(dir, 'example.test.zone')}";
  allow-update { key "${TEST_KEY_NAME}"; };
};
`;
}

function zoneFile(records: readonly string[]): string {
  return [
    '$TTL 300',
    '@ IN SOA ns.example.test. admin.example.test. ( 1 3600 600 86400 1 )',
    '@ IN NS ns.example.test.',
    'ns IN A 127.0.0.1',
    ...records,
    '',
  ].join('\n');
}

async function startOnce(options: StartBindOptions): Promise<TestBind> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-bind-'));
  const port = await freeDnsPort();
  const secret = randomBytes(32).toString('base64');
  const secretFile = join(dir, 'tsig.secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'named.conf'), namedConf(dir, port, secret, options));
  writeFileSync(join(dir, 'example.test.zone'), zoneFile(options.records ?? []));
  let output = '';
  const child: ChildProcess = spawn(
    NAMED_BIN,
    ['-g', '-4', '-n', '1', '-c', join(dir, 'named.conf'), '-p', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const onExit = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = performance.now();
  while (!/\brunning\b/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null || /exiting \(due to/.test(output)) {
      await stop();
      throw new Error(`named did not start on 127.0.0.1:${port}:\n${output.slice(-2000)}`);
    }
    if (performance.now() - started > READY_TIMEOUT_MS) {
      await stop();
      throw new Error(
        `named did not say "running" in ${READY_TIMEOUT_MS} ms:\n${output.slice(-2000)}`,
      );
    }
    await delay(20);
  }
  return {
    host: '127.0.0.1',
    port,
    server: `127.0.0.1:${port}`,
    dir,
    zone: TEST_ZONE,
    key: { name: TEST_KEY_NAME, secret },
    secretFile,
    log: () => output,
    stop,
  };
}

/** Starts named; a port taken between the probe and named's bind is retried with another. */
export async function startBind(options: StartBindOptions = {}): Promise<TestBind> {
  assertBindInstalled();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      if (!/address in use/i.test(String(error))) throw error;
    }
  }
  throw lastError;
}

export interface DigAnswer {
  readonly addresses: readonly string[];
  /** The TTL of the answer's RRset; null when there is no answer. */
  readonly ttl: number | null;
}

/** `dig @127.0.0.1 -p PORT NAME TYPE +noall +answer`, parsed. */
export function dig(
  bind: { readonly host: string; readonly port: number },
  name: string,
  type: 'A' | 'AAAA' = 'A',
): Promise<DigAnswer> {
  return new Promise((resolve, reject) => {
    execFile(
      'dig',
      [
        `@${bind.host}`,
        '-p',
        String(bind.port),
        name,
        type,
        '+noall',
        '+answer',
        '+time=2',
        '+tries=1',
      ],
      { timeout: 10_000 },
      (error, stdout) => {
        if (error !== null) {
          reject(new Error(`dig failed (${INSTALL_HINT}?): ${error.message}`));
          return;
        }
        const lines = stdout
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .filter((fields) => fields.length >= 5 && fields[3] === type);
        resolve({
          addresses: lines.map((fields) => fields[4] ?? '').sort(),
          ttl: lines[0]?.[1] === undefined ? null : Number(lines[0][1]),
        });
      },
    );
  });
}

/** Milliseconds a client's resolver waits for one answer from the test server. */
const RESOLVE_TIMEOUT_MS = 2000;

/**
 * The A record's addresses as a client's stub resolver gets them from the test server (c-ares
 * through node:dns, not dig): what a client of a DNS app resolves before it connects.
 */
export function resolve4(
  bind: { readonly host: string; readonly port: number },
  name: string,
): Promise<string[]> {
  const resolver = new Resolver({ timeout: RESOLVE_TIMEOUT_MS, tries: 2 });
  resolver.setServers([`${bind.host}:${bind.port}`]);
  return resolver.resolve4(name.endsWith('.') ? name.slice(0, -1) : name);
}

/**
 * A TCP port free on every one of `hosts` right now: the DNS config gives each color its own
 * address with one port, so clients keep the port and change only the address.
 */
export async function portFreeOn(hosts: readonly string[]): Promise<number> {
  const listen = (host: string, wanted: number): Promise<number | null> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(null));
      server.listen(wanted, host, () => {
        const address = server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : null;
        server.close(() => resolve(bound));
      });
    });
  const [first, ...others] = hosts;
  if (first === undefined) throw new Error('portFreeOn needs at least one host');
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = await listen(first, 0);
    if (candidate === null) continue;
    let free = true;
    for (const host of others) {
      if ((await listen(host, candidate)) !== candidate) {
        free = false;
        break;
      }
    }
    if (free) return candidate;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
