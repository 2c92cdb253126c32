import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCutoverError } from '../../../core/errors.ts';
import { loadDnsConfig, parseDnsConfig } from './dns-config.ts';

const SECRET = Buffer.alloc(32, 7).toString('base64');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cutover-dns-config-'));
  writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
  writeFileSync(
    join(dir, 'keygen.conf'),
    `key "k" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`,
  );
  writeFileSync(join(dir, 'short'), 'c2hvcnQ=\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

function valid(): Record<string, unknown> {
  return {
    server: '127.0.0.1:5353',
    key: { name: 'cutover', algorithm: 'hmac-sha256', secretFile: 'secret' },
    apps: {
      shop: {
        zone: 'example.test.',
        record: 'shop.example.test.',
        colors: { blue: '127.0.0.2:8090', green: '127.0.0.3:8090' },
      },
    },
  };
}

function problems(input: unknown): string {
  try {
    parseDnsConfig(input, join(dir, 'dns.yaml'));
  } catch (error) {
    assert.ok(isCutoverError(error));
    assert.equal(error.code, 'CUTOVER_ERR_CONFIG_INVALID');
    return error.message;
  }
  assert.fail('expected the config to be refused');
}

void test('a valid config gets defaults, canonical names, and the secret as bytes', () => {
  const config = parseDnsConfig(valid(), join(dir, 'dns.yaml'));
  assert.deepEqual(config.server, { host: '127.0.0.1', port: 5353 });
  assert.equal(config.key.name, 'cutover.');
  assert.deepEqual(config.key.secret, Buffer.alloc(32, 7));
  assert.deepEqual(config.apps.shop, {
    zone: 'example.test.',
    record: 'shop.example.test.',
    ttl: 300,
    lowTtl: 5,
    marginMs: 2000,
    colors: {
      blue: { host: '127.0.0.2', port: 8090 },
      green: { host: '127.0.0.3', port: 8090 },
    },
  });
});

void test('a tsig-keygen key file is read too', () => {
  const input = valid();
  input.key = { name: 'k', algorithm: 'hmac-sha256', secretFile: 'keygen.conf' };
  assert.deepEqual(parseDnsConfig(input, join(dir, 'dns.yaml')).key.secret, Buffer.alloc(32, 7));
});

void test('each problem names its field', () => {
  const input = valid();
  input.server = 'dns.example:53';
  input.key = { name: 'cutover', algorithm: 'hmac-md5', secretFile: 'secret' };
  (input.apps as Record<string, unknown>).shop = {
    zone: 'example.test.',
    record: 'shop.other.test.',
    ttl: 5,
    lowTtl: 30,
    margin: 'soon',
    colors: { blue: '127.0.0.2:8090', green: '127.0.0.2:8091' },
  };
  const message = problems(input);
  assert.match(message, /server: "dns\.example" is not an IP address/);
  assert.match(message, /key\.algorithm: only hmac-sha256 is supported/);
  assert.match(message, /apps\.shop\.margin: expected a duration like 2s/);
  // The refinements run once the fields themselves parse.
  const refined = valid();
  (refined.apps as Record<string, unknown>).shop = {
    zone: 'example.test.',
    record: 'shop.other.test.',
    ttl: 5,
    lowTtl: 30,
    colors: { blue: '127.0.0.2:8090', green: '127.0.0.2:8091' },
  };
  const second = problems(refined);
  assert.match(second, /apps\.shop\.record: "shop\.other\.test\." is not inside zone/);
  assert.match(second, /apps\.shop\.lowTtl: lowTtl \(30\) must not exceed ttl \(5\)/);
  assert.match(second, /apps\.shop\.colors: blue and green need different IP addresses/);
  assert.match(second, /apps\.shop\.colors: blue and green must use the same port/);
});

void test('unknown keys and missing fields are refused by name', () => {
  const input = valid();
  input.extra = true;
  delete (input.apps as Record<string, Record<string, unknown>>).shop?.zone;
  const message = problems(input);
  assert.match(message, /extra/);
  assert.match(message, /apps\.shop\.zone/);
});

void test('the secret file: missing, not base64, too short; its content never in the message', () => {
  const input = valid();
  input.key = { name: 'k', algorithm: 'hmac-sha256', secretFile: 'missing' };
  assert.match(problems(input), /key\.secretFile: cannot read ".*missing" \(ENOENT\)/);
  input.key = { name: 'k', algorithm: 'hmac-sha256', secretFile: 'short' };
  assert.match(problems(input), /shorter than 16 bytes/);
  writeFileSync(join(dir, 'garbage'), 'not base64 at all!');
  input.key = { name: 'k', algorithm: 'hmac-sha256', secretFile: 'garbage' };
  const message = problems(input);
  assert.match(message, /does not hold a base64 secret/);
  assert.doesNotMatch(message, /not base64 at all/);
});

void test('loadDnsConfig reads YAML and names the file when it cannot', () => {
  const file = join(dir, 'dns.yaml');
  writeFileSync(
    file,
    [
      'server: "[::1]:5353"',
      'key: { name: cutover, algorithm: hmac-sha256, secretFile: secret }',
      'apps:',
      '  shop:',
      '    zone: example.test',
      '    record: shop.example.test',
      '    ttl: 60',
      '    lowTtl: 2',
      '    margin: 1.5s',
      '    colors: { blue: "127.0.0.2:80", green: "127.0.0.3:80" }',
      '',
    ].join('\n'),
  );
  const config = loadDnsConfig(file);
  assert.deepEqual(config.server, { host: '::1', port: 5353 });
  assert.equal(config.apps.shop?.marginMs, 1500);
  assert.equal(config.apps.shop?.zone, 'example.test.');
  assert.throws(
    () => loadDnsConfig(join(dir, 'nope.yaml')),
    /Cannot read the DNS config .*nope\.yaml \(ENOENT\): check --dns-config/,
  );
});
