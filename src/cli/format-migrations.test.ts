import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleMigrationsPlan } from '../../test/helpers/admin-fixture.ts';
import {
  formatMigrationsContract,
  formatMigrationsPlan,
  formatMigrationsStatus,
} from './format-migrations.ts';

void test('a plan with nothing to apply says so; an empty history reads none', () => {
  const text = formatMigrationsPlan(sampleMigrationsPlan({ applied: [], pending: [] }));
  assert.match(text, /^applied: none$/m);
  assert.match(text, /a deployment would apply \(expand\):\n {2}none\n/);
  assert.match(text, /\nv2 needs no migration$/);
  assert.doesNotMatch(text, /changed since applied/);
});

void test('a plan that only holds contract files counts them', () => {
  const text = formatMigrationsPlan(
    sampleMigrationsPlan({ pending: [], contractPending: ['0003_a.sql', '0004_b.sql'] }),
  );
  assert.match(
    text,
    /\na deployment of v2 would apply 0 migrations; 2 migrations wait for the contract phase$/,
  );
});

void test('a status with no applied file prints none instead of an empty table', () => {
  const text = formatMigrationsStatus(sampleMigrationsPlan({ applied: [] }));
  assert.match(text, /^applied:\n {2}none\npending/m);
  assert.doesNotMatch(text, /NAME/);
});

void test('a status says what holds the contract files back and who runs them', () => {
  const waiting = formatMigrationsStatus(
    sampleMigrationsPlan({
      contractPending: ['0003_a.sql'],
      contract: { mode: 'auto', heldBy: 'the standby v1 on blue may still use the old schema' },
    }),
  );
  assert.match(
    waiting,
    /^contract pending \(waiting: the standby v1 on blue may still use the old schema; the daemon runs them once it is retired \(migrations\.contract: auto\)\):\n {2}0003_a\.sql$/m,
  );
  const manual = formatMigrationsStatus(
    sampleMigrationsPlan({ contract: { mode: 'manual', heldBy: 'the standby v1 on blue' } }),
  );
  assert.match(manual, /then run `cutover migrations contract` \(migrations\.contract: manual\)/);
  const ready = formatMigrationsStatus(
    sampleMigrationsPlan({ contract: { mode: 'auto', heldBy: null } }),
  );
  assert.match(
    ready,
    /^contract pending \(nothing holds them back: run `cutover migrations contract`\):$/m,
  );
});

void test('a contract run lists each file with its duration', () => {
  const text = formatMigrationsContract({
    app: 'shop',
    release: 'v2',
    applied: ['0003_a.sql', '0004_b.sql'],
    durationMs: 40,
    files: [
      { name: '0003_a.sql', durationMs: 25 },
      { name: '0004_b.sql', durationMs: 12 },
    ],
  });
  assert.equal(
    text,
    'shop v2: applied 2 migrations in 40 ms\n  0003_a.sql (25 ms)\n  0004_b.sql (12 ms)',
  );
});
