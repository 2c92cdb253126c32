import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminClient } from '../client/admin-client.ts';
import type { StatusResponse } from '../client/api-types.ts';
import { resolveAppName } from './resolve-app.ts';

/** A client whose status lists these app names; nothing else is called. */
function clientWith(names: readonly string[]): AdminClient & { calls: number } {
  const fake = {
    calls: 0,
    status(): Promise<StatusResponse> {
      fake.calls += 1;
      return Promise.resolve({
        revision: 1,
        generation: 1,
        apps: names.map((name) => ({ name }) as StatusResponse['apps'][number]),
      });
    },
  };
  return fake as unknown as AdminClient & { calls: number };
}

async function inDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-resolve-app-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('a named app wins; then the app of ./cutover.yaml; then the only app', async () => {
  await inDir(async (dir) => {
    const two = clientWith(['cart', 'shop']);
    assert.equal(await resolveAppName('cart', two, 'cutover abort <app>', dir), 'cart');
    const one = clientWith(['shop']);
    assert.equal(await resolveAppName(undefined, one, 'cutover abort <app>', dir), 'shop');
    await writeFile(join(dir, 'cutover.yaml'), 'app: cart\nstart: node server.js\n');
    assert.equal(await resolveAppName(undefined, two, 'cutover abort <app>', dir), 'cart');
    assert.equal(two.calls, 0, 'the daemon is not asked when the folder says');
  });
});

void test('no cutover.yaml and not exactly one app: a usage error listing the apps', async () => {
  await inDir(async (dir) => {
    await assert.rejects(
      resolveAppName(undefined, clientWith(['cart', 'shop']), 'cutover drill <app>', dir),
      (error: Error & { code?: string }) =>
        error.code === 'CUTOVER_ERR_USAGE' &&
        error.message ===
          'name the app: `cutover drill <app>` (no cutover.yaml here; the daemon has cart, shop)',
    );
    await assert.rejects(
      resolveAppName(undefined, clientWith([]), 'cutover drill <app>', dir),
      /the daemon has no apps yet/,
    );
  });
});

void test('an invalid ./cutover.yaml is refused, not skipped', async () => {
  await inDir(async (dir) => {
    await writeFile(join(dir, 'cutover.yaml'), 'app: Not A Name\n');
    await assert.rejects(
      resolveAppName(undefined, clientWith(['shop']), 'cutover abort <app>', dir),
      (error: Error & { code?: string }) => error.code === 'CUTOVER_ERR_CONFIG_INVALID',
    );
  });
});
