import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
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
    env: { SECRET: 's' },
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
    // The env may hold secrets: only the daemon's user reads it.
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
