import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCutoverError } from '../core/errors.ts';
import { parseAppConfigText } from './load-app-config.ts';
import { appEnvSources, resolveAppEnv } from './resolve-app-env.ts';

async function withReleaseDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-env-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CONFIG = parseAppConfigText(`app: shop
start: node server.js
env:
  NODE_ENV: production
  WORKERS: 4
  DB_PASSWORD: { fromEnv: SHOP_DB_PASSWORD }
  API_KEY: { fromFile: secrets/api-key }
`);

void test('the loaded config keeps references, not secrets; resolving reads them', async () => {
  assert.deepEqual(CONFIG.env.DB_PASSWORD, { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' });
  assert.deepEqual(CONFIG.env.API_KEY, { kind: 'fromFile', path: 'secrets/api-key' });
  await withReleaseDir(async (dir) => {
    await writeFile(join(dir, 'api-key'), 'k-123\n');
    const config = parseAppConfigText(
      'app: shop\nstart: x\nenv:\n  A: 1\n  B: { fromEnv: SHOP_DB_PASSWORD }\n  C: { fromFile: api-key }\n',
    );
    const env = await resolveAppEnv(config.env, {
      releaseDir: dir,
      environment: { SHOP_DB_PASSWORD: 'hunter2' },
    });
    assert.deepEqual(env, { A: '1', B: 'hunter2', C: 'k-123' });
  });
});

void test('every unresolvable reference is named, without any secret value', async () => {
  await withReleaseDir(async (dir) => {
    await assert.rejects(
      resolveAppEnv(CONFIG.env, { releaseDir: dir, environment: { OTHER: 'hunter2' } }),
      (error: Error) => {
        assert.ok(isCutoverError(error));
        assert.equal(error.code, 'CUTOVER_ERR_CONFIG_INVALID');
        const lines = error.message.split('\n');
        assert.equal(lines.length, 2);
        assert.match(lines[0] ?? '', /^env\.DB_PASSWORD: \$SHOP_DB_PASSWORD is not set$/);
        assert.match(lines[1] ?? '', /^env\.API_KEY: cannot read .*secrets\/api-key \(ENOENT\)$/);
        assert.ok(!error.message.includes('hunter2'));
        return true;
      },
    );
  });
});

void test('the env sources keep references, with file paths made absolute and the database URL under its var', async () => {
  await withReleaseDir(async (dir) => {
    const config = parseAppConfigText(
      'app: shop\nstart: x\nenv:\n  A: 1\n  B: { fromEnv: SHOP_DB_PASSWORD }\n  C: { fromFile: secrets/api-key }\n  D: { fromFile: /etc/shop/key }\ndatabase:\n  url: { fromEnv: SHOP_DATABASE_URL }\n  env: SHOP_DB\n',
    );
    const sources = appEnvSources(config, dir);
    assert.deepEqual(sources, {
      A: { kind: 'value', value: '1' },
      B: { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' },
      C: { kind: 'fromFile', path: join(dir, 'secrets', 'api-key') },
      D: { kind: 'fromFile', path: '/etc/shop/key' },
      SHOP_DB: { kind: 'fromEnv', name: 'SHOP_DATABASE_URL' },
    });
    // Resolved from anywhere, they give what the start step gives.
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'api-key'), 'k-123\n');
    const { D: _absolute, ...readable } = sources;
    assert.deepEqual(
      await resolveAppEnv(readable, {
        releaseDir: tmpdir(),
        environment: { SHOP_DB_PASSWORD: 'hunter2', SHOP_DATABASE_URL: 'sqlite:/tmp/x.db' },
      }),
      { A: '1', B: 'hunter2', C: 'k-123', SHOP_DB: 'sqlite:/tmp/x.db' },
    );
    assert.deepEqual(appEnvSources({ env: {}, database: null }, dir), {});
  });
});
