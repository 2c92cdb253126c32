import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import {
  INSTANCE_RECORD_VERSION,
  type InstanceRecord,
  instanceRecordPath,
  readInstanceRecords,
  removeInstanceRecord,
  writeInstanceRecord,
} from './instance-record.ts';

function record(id: string, pid: number): InstanceRecord {
  return {
    version: INSTANCE_RECORD_VERSION,
    app: 'shop',
    release: 'v1',
    color: 'blue',
    id,
    pid,
    pgid: pid,
    port: 3001,
    host: '127.0.0.1',
    startTimeTicks: '12345',
    startedAt: '2026-01-01T00:00:00.000Z',
    command: 'node server.js',
    dir: '/srv/shop',
    envSources: {
      NODE_ENV: { kind: 'value', value: 'production' },
      DB_PASSWORD: { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' },
      API_KEY: { kind: 'fromFile', path: '/srv/shop/secrets/api-key' },
    },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 1000,
    logPath: '/tmp/shop-blue-1.log',
  };
}

void it('writes, replaces, reads and removes records, leaving no temp file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    const appDir = join(dir, 'shop');
    await writeInstanceRecord(appDir, record('shop-blue-1', 10));
    await writeInstanceRecord(appDir, record('shop-blue-1', 11));
    await writeInstanceRecord(appDir, record('shop-blue-2', 12));
    const { records, invalid } = await readInstanceRecords(appDir);
    assert.deepEqual(
      records.map((r) => [r.id, r.pid]),
      [
        ['shop-blue-1', 11],
        ['shop-blue-2', 12],
      ],
    );
    assert.deepEqual(invalid, []);
    assert.deepEqual((await readdir(appDir)).sort(), ['shop-blue-1.json', 'shop-blue-2.json']);
    // Paths and var names still tell about the host: only the daemon's user reads them.
    assert.equal((await stat(instanceRecordPath(appDir, 'shop-blue-1'))).mode & 0o777, 0o600);
    await removeInstanceRecord(appDir, 'shop-blue-1');
    await removeInstanceRecord(appDir, 'shop-blue-1');
    assert.deepEqual(
      (await readInstanceRecords(appDir)).records.map((r) => r.id),
      ['shop-blue-2'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void it('reports a torn or foreign record without losing the others, and a missing dir as empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    await writeInstanceRecord(dir, record('shop-blue-1', 10));
    await writeFile(join(dir, 'shop-blue-2.json'), '{"version":1,');
    await writeFile(join(dir, 'shop-blue-3.json'), '{"version":99}');
    await writeFile(join(dir, 'shop-blue-4.json.abc.tmp'), 'partial');
    const { records, invalid } = await readInstanceRecords(dir);
    assert.deepEqual(
      records.map((r) => r.id),
      ['shop-blue-1'],
    );
    assert.deepEqual(
      invalid.map((i) => i.path),
      [join(dir, 'shop-blue-2.json'), join(dir, 'shop-blue-3.json')],
    );
    assert.deepEqual(await readInstanceRecords(join(dir, 'absent')), { records: [], invalid: [] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void it('writes secrets as their references, never as values', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    await writeInstanceRecord(dir, record('shop-blue-1', 10));
    const text = await readFile(instanceRecordPath(dir, 'shop-blue-1'), 'utf8');
    const written = JSON.parse(text) as Record<string, unknown>;
    assert.equal('env' in written, false, 'no resolved env field');
    assert.deepEqual(written['envSources'], record('shop-blue-1', 10).envSources);
    assert.deepEqual((await readInstanceRecords(dir)).records, [record('shop-blue-1', 10)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void it('reads a record an earlier version wrote with resolved env, as literals, and rewrites it without them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    const { envSources: _sources, ...rest } = record('shop-blue-1', 10);
    const legacy = { ...rest, env: { NODE_ENV: 'production', DB_PASSWORD: 'hunter2' } };
    await writeFile(instanceRecordPath(dir, 'shop-blue-1'), JSON.stringify(legacy));
    const { records, invalid } = await readInstanceRecords(dir);
    assert.deepEqual(invalid, []);
    const [read] = records;
    assert.ok(read !== undefined);
    assert.deepEqual(read, {
      ...rest,
      envSources: {
        NODE_ENV: { kind: 'value', value: 'production' },
        DB_PASSWORD: { kind: 'value', value: 'hunter2' },
      },
    });
    assert.equal('env' in read, false);
    // Written again (after a restart, say): the new form, the old field gone.
    await writeInstanceRecord(dir, { ...read, pid: 11 });
    const rewritten = JSON.parse(
      await readFile(instanceRecordPath(dir, 'shop-blue-1'), 'utf8'),
    ) as Record<string, unknown>;
    assert.equal('env' in rewritten, false);
    assert.equal(rewritten['pid'], 11);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void it('refuses a record whose env is neither sources nor strings', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    const { envSources: _sources, ...rest } = record('shop-blue-1', 10);
    const bad = {
      'shop-blue-1': { ...rest, envSources: { A: { kind: 'fromEnv' } } },
      'shop-blue-2': { ...rest, envSources: { A: 'plain' } },
      'shop-blue-3': { ...rest, env: { A: 1 } },
      'shop-blue-4': rest,
      'shop-blue-5': { ...rest, envSources: [] },
    };
    for (const [id, value] of Object.entries(bad)) {
      await writeFile(instanceRecordPath(dir, id), JSON.stringify({ ...value, id }));
    }
    const { records, invalid } = await readInstanceRecords(dir);
    assert.deepEqual(records, []);
    assert.deepEqual(
      invalid.map((each) => each.path),
      Object.keys(bad).map((id) => instanceRecordPath(dir, id)),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void it('skips a record removed between the listing and the read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-record-'));
  try {
    await writeInstanceRecord(dir, record('shop-blue-1', 10));
    // A dangling link reads as a file removed after readdir listed it.
    await symlink(join(dir, 'gone.json.tmp'), join(dir, 'shop-blue-2.json'));
    const { records, invalid } = await readInstanceRecords(dir);
    assert.deepEqual(
      records.map((r) => r.id),
      ['shop-blue-1'],
    );
    assert.deepEqual(invalid, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
