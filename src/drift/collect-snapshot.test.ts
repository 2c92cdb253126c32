// The collector on real temp dirs: lock files and declared files hashed, secrets only as salted
// hashes, the interpreter's version, never a failure for what is missing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAppConfigText } from '../config/load-app-config.ts';
import { collectSnapshot, hashSecret } from './collect-snapshot.ts';

const SECRET = 'sk_live_collector_secret_value';
const FILE_SECRET = 'file-secret-value-4242';
const SALT = Buffer.alloc(32, 7);

let dir: string;

const CONFIG_TEXT = [
  'app: shop',
  'start: node server.js',
  'instances: 2',
  'env:',
  '  SHOP_VERSION: v2',
  '  PAYMENTS_KEY: { fromEnv: SHOP_PAYMENTS_KEY }',
  '  FILE_KEY: { fromFile: secrets/key }',
  '  UNSET_KEY: { fromEnv: SHOP_NOT_SET_ANYWHERE }',
  'database:',
  '  url: { fromEnv: SHOP_DATABASE_URL }',
  '  env: DATABASE_URL',
  'drift:',
  '  files: [config/app.json, config/absent.json]',
].join('\n');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-collect-'));
  await mkdir(join(dir, 'config'));
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'package-lock.json'), '{"lockfileVersion":3}\n');
  await writeFile(join(dir, 'go.sum'), 'example.com/x v1 h1:abc\n');
  await writeFile(join(dir, 'config', 'app.json'), '{"pool":10}\n');
  await writeFile(join(dir, 'secrets', 'key'), `${FILE_SECRET}\n`);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function collect(environment: NodeJS.ProcessEnv) {
  return collectSnapshot({
    release: 'v2',
    dir,
    config: parseAppConfigText(CONFIG_TEXT),
    salt: SALT,
    environment,
    takenAt: '2026-11-26T12:00:00.000Z',
  });
}

const ENVIRONMENT = {
  PATH: process.env.PATH,
  SHOP_PAYMENTS_KEY: SECRET,
  SHOP_DATABASE_URL: 'sqlite:/var/lib/shop/shop.db',
};

void test('a release dir is snapshotted: env, secrets as hashes, files, runtime, config, limits', async () => {
  const snapshot = await collect(ENVIRONMENT);
  const { entries } = snapshot;
  assert.deepEqual(entries['release'], { kind: 'value', value: 'v2' });
  assert.deepEqual(entries['env.SHOP_VERSION'], { kind: 'value', value: 'v2' });
  assert.deepEqual(entries['env.PAYMENTS_KEY'], { kind: 'secret', hash: hashSecret(SALT, SECRET) });
  // The file's one trailing newline is dropped, as the process runtime does.
  assert.deepEqual(entries['env.FILE_KEY'], {
    kind: 'secret',
    hash: hashSecret(SALT, FILE_SECRET),
  });
  assert.deepEqual(entries['env.UNSET_KEY'], { kind: 'secret', hash: null });
  assert.equal(entries['database.url']?.kind, 'secret');
  assert.equal(entries['env.DATABASE_URL'], undefined);
  const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
  assert.deepEqual(entries['files.package-lock.json'], {
    kind: 'value',
    value: sha('{"lockfileVersion":3}\n'),
  });
  assert.deepEqual(entries['files.go.sum'], {
    kind: 'value',
    value: sha('example.com/x v1 h1:abc\n'),
  });
  assert.equal(entries['files.yarn.lock'], undefined);
  assert.deepEqual(entries['files.config/app.json'], {
    kind: 'value',
    value: sha('{"pool":10}\n'),
  });
  assert.deepEqual(entries['files.config/absent.json'], { kind: 'value', value: 'missing' });
  assert.deepEqual(entries['runtime.version'], { kind: 'value', value: `node ${process.version}` });
  assert.deepEqual(entries['config.instances'], { kind: 'value', value: '2' });
  assert.deepEqual(entries['config.start'], { kind: 'value', value: 'node server.js' });
  assert.equal(entries['config.limits.nofile']?.kind, 'value');
  const text = JSON.stringify(snapshot);
  assert.equal(text.includes(SECRET), false);
  assert.equal(text.includes(FILE_SECRET), false);
});

void test('a changed secret or file changes only its own key', async () => {
  const before = await collect(ENVIRONMENT);
  const changedSecret = await collect({ ...ENVIRONMENT, SHOP_PAYMENTS_KEY: `${SECRET}-rotated` });
  assert.notDeepEqual(
    changedSecret.entries['env.PAYMENTS_KEY'],
    before.entries['env.PAYMENTS_KEY'],
  );
  assert.deepEqual(changedSecret.entries['env.FILE_KEY'], before.entries['env.FILE_KEY']);
  await writeFile(join(dir, 'config', 'app.json'), '{"pool":50}\n');
  const edited = await collect(ENVIRONMENT);
  assert.notDeepEqual(
    edited.entries['files.config/app.json'],
    before.entries['files.config/app.json'],
  );
  assert.deepEqual(
    edited.entries['files.package-lock.json'],
    before.entries['files.package-lock.json'],
  );
  await writeFile(join(dir, 'config', 'app.json'), '{"pool":10}\n');
});

void test('another salt gives other hashes: a hash from one daemon says nothing to another', () => {
  assert.notEqual(hashSecret(SALT, SECRET), hashSecret(Buffer.alloc(32, 8), SECRET));
  assert.match(hashSecret(SALT, SECRET), /^[0-9a-f]{64}$/);
});
