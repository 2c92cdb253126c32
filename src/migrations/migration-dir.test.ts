import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planMigrations, readMigrationDir } from './migration-dir.ts';
import type { MigrationFile } from '../core/migration-file.ts';
import type { AppliedMigration } from '../ports/database.ts';

async function withDir(files: Record<string, string>, run: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-migrations-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('reads only .sql files, sorted by name, with header tags and checksums', async () => {
  const contract = '-- cutover:phase contract\nALTER TABLE t DROP COLUMN old;\n';
  const concurrent = '-- cutover:transaction off\nCREATE INDEX CONCURRENTLY i ON t (a);\n';
  await withDir(
    {
      '0002_drop.sql': contract,
      '0001_create.sql': 'CREATE TABLE t (a int);\n',
      '0003_index.sql': concurrent,
      'README.md': '# not a migration',
      '0004_notes.sql.bak': 'SELECT 1;',
    },
    async (dir) => {
      await mkdir(join(dir, '0005_folder.sql'));
      const files = await readMigrationDir(dir).catch((error: Error) => error);
      // A folder named like a file is not a migration: reading it fails clearly.
      assert.ok(files instanceof Error);
      await rm(join(dir, '0005_folder.sql'), { recursive: true });
      const read = await readMigrationDir(dir);
      assert.deepEqual(
        read.map((file) => [file.name, file.phase, file.transactional]),
        [
          ['0001_create.sql', 'expand', true],
          ['0002_drop.sql', 'contract', true],
          ['0003_index.sql', 'expand', false],
        ],
      );
      assert.equal(read[1]?.checksum, createHash('sha256').update(contract).digest('hex'));
      assert.equal(read[1]?.path, join(dir, '0002_drop.sql'));
      assert.equal(read[2]?.sql, concurrent);
    },
  );
});

void test('a missing folder has no migrations', async () => {
  assert.deepEqual(await readMigrationDir(join(tmpdir(), 'cutover-no-such-dir-4f1c')), []);
});

void test('a bad header names the file and the line', async () => {
  await withDir({ '0001_bad.sql': '-- cutover:phase later\nSELECT 1;\n' }, async (dir) => {
    await assert.rejects(readMigrationDir(dir), /0001_bad\.sql: line 1: cutover:phase/);
  });
});

function file(
  name: string,
  phase: 'expand' | 'contract' = 'expand',
  checksum = name,
): MigrationFile {
  return { name, path: `migrations/${name}`, phase, transactional: true, sql: '', checksum };
}

function row(name: string, checksum = name): AppliedMigration {
  return { name, checksum, phase: 'expand', appliedAt: '2026-01-01T00:00:00Z', release: 'v1' };
}

void test('plan splits pending expand, pending contract and changed files', () => {
  const plan = planMigrations(
    [
      file('0004_d.sql'),
      file('0003_c.sql', 'contract'),
      file('0002_b.sql', 'expand', 'new'),
      file('0001_a.sql'),
    ],
    [row('0001_a.sql'), row('0002_b.sql')],
  );
  assert.deepEqual(
    plan.pending.map((f) => f.name),
    ['0004_d.sql'],
  );
  assert.deepEqual(
    plan.contractPending.map((f) => f.name),
    ['0003_c.sql'],
  );
  assert.deepEqual(
    plan.changed.map((c) => [c.file.name, c.applied.checksum, c.file.checksum]),
    [['0002_b.sql', '0002_b.sql', 'new']],
  );
});

void test('plan of an up-to-date database is empty; history rows without a file are ignored', () => {
  const plan = planMigrations([file('0001_a.sql')], [row('0001_a.sql'), row('0000_gone.sql')]);
  assert.deepEqual(plan, { pending: [], contractPending: [], changed: [] });
});
