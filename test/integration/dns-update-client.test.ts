// The RFC 2136 + TSIG update client against a real BIND 9 on loopback: adds, replaces and
// deletes checked with dig, TCP for a large update, and each failure named (issue 5, DNS).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { createDnsUpdateClient } from '../../src/adapters/traffic/dns/dns-update-client.ts';
import type { DnsUpdateClient } from '../../src/adapters/traffic/dns/dns-update-client.ts';
import { isCutoverError } from '../../src/core/errors.ts';
import { dig, startBind } from '../helpers/bind.ts';
import type { TestBind } from '../helpers/bind.ts';

const OTHER_KEY = { name: 'not-allowed', secret: randomBytes(32).toString('base64') };
let bind: TestBind;
let client: DnsUpdateClient;

function clientWith(name: string, secret: string, port = bind.port): DnsUpdateClient {
  return createDnsUpdateClient({
    server: { host: '127.0.0.1', port },
    key: { name, algorithm: 'hmac-sha256', secret: Buffer.from(secret, 'base64') },
    timeoutMs: 500,
  });
}

function hasCode(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isCutoverError(error), `expected a CutoverError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

before(async () => {
  bind = await startBind({ records: ['fixed IN A 127.0.0.9'], otherKey: OTHER_KEY });
  client = clientWith(bind.key.name, bind.key.secret);
});

after(async () => {
  await bind?.stop();
});

void test('an add shows in dig with its TTL, over UDP', async () => {
  const result = await client.update(bind.zone, [
    { kind: 'add', name: 'add.example.test.', address: '127.0.0.2', ttl: 120 },
  ]);
  assert.equal(result.transport, 'udp');
  assert.deepEqual(await dig(bind, 'add.example.test.'), { addresses: ['127.0.0.2'], ttl: 120 });
});

void test('replaceAddress leaves only the new address, with the new TTL', async () => {
  await client.update(bind.zone, [
    { kind: 'add', name: 'flip.example.test.', address: '127.0.0.2', ttl: 300 },
    { kind: 'add', name: 'flip.example.test.', address: '127.0.0.4', ttl: 300 },
  ]);
  assert.deepEqual((await dig(bind, 'flip.example.test.')).addresses, ['127.0.0.2', '127.0.0.4']);
  await client.replaceAddress(bind.zone, 'flip.example.test.', '127.0.0.3', 5);
  assert.deepEqual(await dig(bind, 'flip.example.test.'), { addresses: ['127.0.0.3'], ttl: 5 });
});

void test('replacing an IPv4 address with an IPv6 one removes the A RRset', async () => {
  await client.replaceAddress(bind.zone, 'six.example.test.', '127.0.0.2', 60);
  await client.replaceAddress(bind.zone, 'six.example.test.', '::1', 60);
  assert.deepEqual((await dig(bind, 'six.example.test.', 'A')).addresses, []);
  assert.deepEqual(await dig(bind, 'six.example.test.', 'AAAA'), { addresses: ['::1'], ttl: 60 });
});

void test('deletes: one address, then the whole RRset', async () => {
  await client.update(bind.zone, [
    { kind: 'add', name: 'del.example.test.', address: '127.0.0.2', ttl: 60 },
    { kind: 'add', name: 'del.example.test.', address: '127.0.0.3', ttl: 60 },
  ]);
  await client.update(bind.zone, [
    { kind: 'delete-address', name: 'del.example.test.', address: '127.0.0.2' },
  ]);
  assert.deepEqual((await dig(bind, 'del.example.test.')).addresses, ['127.0.0.3']);
  await client.update(bind.zone, [{ kind: 'delete-rrset', name: 'del.example.test.', type: 'A' }]);
  assert.deepEqual(await dig(bind, 'del.example.test.'), { addresses: [], ttl: null });
});

void test('an update above 512 bytes goes over TCP and is applied whole', async () => {
  const operations = Array.from({ length: 40 }, (_, index) => ({
    kind: 'add' as const,
    name: 'big.example.test.',
    address: `10.0.0.${index + 1}`,
    ttl: 30,
  }));
  const result = await client.update(bind.zone, operations);
  assert.equal(result.transport, 'tcp');
  assert.equal((await dig(bind, 'big.example.test.')).addresses.length, 40);
});

void test('a wrong secret is NOTAUTH (BADSIG), named as a key problem; nothing changes', async () => {
  const wrong = clientWith(bind.key.name, randomBytes(32).toString('base64'));
  await assert.rejects(
    wrong.replaceAddress(bind.zone, 'fixed.example.test.', '127.0.0.66', 60),
    hasCode(
      'CUTOVER_ERR_DNS_NOT_AUTHORIZED',
      /rejected the TSIG key "cutover-test" \(NOTAUTH, BADSIG\)/,
    ),
  );
  assert.deepEqual((await dig(bind, 'fixed.example.test.')).addresses, ['127.0.0.9']);
});

void test('an unknown key name is NOTAUTH (BADKEY)', async () => {
  const unknown = clientWith('no-such-key', bind.key.secret);
  await assert.rejects(
    unknown.replaceAddress(bind.zone, 'fixed.example.test.', '127.0.0.66', 60),
    hasCode('CUTOVER_ERR_DNS_NOT_AUTHORIZED', /BADKEY/),
  );
});

void test('a key the zone does not allow is REFUSED, named as such', async () => {
  const other = clientWith(OTHER_KEY.name, OTHER_KEY.secret);
  await assert.rejects(
    other.replaceAddress(bind.zone, 'fixed.example.test.', '127.0.0.66', 60),
    hasCode('CUTOVER_ERR_DNS_REFUSED', /does not allow updates from key "not-allowed"/),
  );
  assert.deepEqual((await dig(bind, 'fixed.example.test.')).addresses, ['127.0.0.9']);
});

void test('a zone the server does not serve fails with the response code named', async () => {
  await assert.rejects(
    client.replaceAddress('other.test.', 'x.other.test.', '127.0.0.2', 60),
    hasCode('CUTOVER_ERR_DNS_UPDATE_FAILED', /NOTAUTH/),
  );
});

void test('no server at the address is UNREACHABLE after UDP and TCP tries', async () => {
  const nobody = await startBind();
  const port = nobody.port;
  await nobody.stop();
  const started = performance.now();
  await assert.rejects(
    clientWith(bind.key.name, bind.key.secret, port).replaceAddress(
      bind.zone,
      'fixed.example.test.',
      '127.0.0.66',
      60,
    ),
    hasCode('CUTOVER_ERR_DNS_UNREACHABLE', /did not answer the update of zone example\.test\./),
  );
  assert.ok(performance.now() - started < 5000);
});

/** Tries before giving up on finding a port free for both UDP and TCP. */
const PORT_PAIR_TRIES = 20;

/**
 * A UDP socket and `tcp` listening on one loopback port: UDP takes a free port, then TCP the
 * same one; another process may hold that TCP port, so a taken one means another try.
 */
async function udpAndTcpOnOnePort(tcp: Server): Promise<{ udp: Socket; port: number }> {
  for (let tries = 1; ; tries += 1) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, port };
    } catch (error) {
      udp.close();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= PORT_PAIR_TRIES) {
        throw error;
      }
    }
  }
}

void test('a server whose UDP answers are lost is reached over TCP', async () => {
  // UDP on this port swallows every datagram; TCP on the same port is piped to BIND's.
  const tcp = createServer((socket) => {
    const upstream = connect({ host: bind.host, port: bind.port });
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  const { udp, port } = await udpAndTcpOnOnePort(tcp);
  let datagrams = 0;
  udp.on('message', () => (datagrams += 1));
  try {
    const lossy = createDnsUpdateClient({
      server: { host: '127.0.0.1', port },
      key: {
        name: bind.key.name,
        algorithm: 'hmac-sha256',
        secret: Buffer.from(bind.key.secret, 'base64'),
      },
      timeoutMs: 300,
      udpTries: 2,
    });
    const result = await lossy.replaceAddress(bind.zone, 'lossy.example.test.', '127.0.0.7', 30);
    assert.equal(result.transport, 'tcp');
    assert.equal(datagrams, 2, 'two UDP tries before TCP');
    assert.deepEqual(await dig(bind, 'lossy.example.test.'), { addresses: ['127.0.0.7'], ttl: 30 });
  } finally {
    udp.close();
    await new Promise((resolve) => tcp.close(resolve));
  }
});
