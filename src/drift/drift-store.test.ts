import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DriftSnapshot } from './drift-snapshot.ts';
import { createDriftStore, decodeAppSnapshots } from './drift-store.ts';
import type { ColorSnapshots } from './drift-store.ts';

const SNAPSHOT: DriftSnapshot = {
  release: 'v1',
  takenAt: '2026-11-26T12:00:00.000Z',
  entries: { release: { kind: 'value', value: 'v1' }, 'env.K': { kind: 'secret', hash: 'ab' } },
};
const ENTRY: ColorSnapshots = {
  release: 'v1',
  started: SNAPSHOT,
  latest: SNAPSHOT,
  expect: ['env.SHOP_*'],
  accepted: [],
  enforce: true,
};

void test('snapshots survive a new store on the same dir (a restart); files are 0600, no temp left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-drift-store-'));
  try {
    const store = createDriftStore(dir);
    assert.deepEqual(await store.read('shop'), {});
    await Promise.all([
      store.update('shop', (current) => ({ ...current, blue: ENTRY })),
      store.update('shop', (current) => ({ ...current, green: { ...ENTRY, release: 'v2' } })),
    ]);
    const again = await createDriftStore(dir).read('shop');
    assert.deepEqual(again.blue, ENTRY);
    assert.equal(again.green?.release, 'v2');
    assert.equal((await stat(join(dir, 'drift', 'shop.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'drift')), ['shop.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('a damaged file or color entry reads as not snapshotted, never a crash', async () => {
  assert.deepEqual(decodeAppSnapshots('{not json'), {});
  assert.deepEqual(decodeAppSnapshots('[]'), {});
  const mixed = decodeAppSnapshots(JSON.stringify({ blue: ENTRY, green: { release: 3 } }));
  assert.deepEqual(mixed, { blue: ENTRY });
  const dir = await mkdtemp(join(tmpdir(), 'cutover-drift-store-'));
  try {
    const store = createDriftStore(dir);
    await store.update('shop', () => ({ blue: ENTRY }));
    await writeFile(join(dir, 'drift', 'shop.json'), 'garbage');
    assert.deepEqual(await store.read('shop'), {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
