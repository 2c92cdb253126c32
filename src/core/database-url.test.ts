import { test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseDialectOf, parseDatabaseUrl } from './database-url.ts';

void test('postgres:// and postgresql:// are PostgreSQL, kept as written', () => {
  assert.deepEqual(parseDatabaseUrl('postgres://app:pw@db.internal:5432/shop'), {
    dialect: 'postgres',
    url: 'postgres://app:pw@db.internal:5432/shop',
  });
  assert.equal(databaseDialectOf('postgresql://localhost/shop?sslmode=require'), 'postgres');
});

void test('sqlite: and file: name a SQLite file, absolute or relative', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:data/shop.db'), {
    dialect: 'sqlite',
    path: 'data/shop.db',
  });
  assert.deepEqual(parseDatabaseUrl('sqlite:/var/lib/shop.db'), {
    dialect: 'sqlite',
    path: '/var/lib/shop.db',
  });
  assert.deepEqual(parseDatabaseUrl('sqlite:///var/lib/shop.db'), {
    dialect: 'sqlite',
    path: '/var/lib/shop.db',
  });
  assert.deepEqual(parseDatabaseUrl('file:./shop%20db.sqlite?mode=rwc'), {
    dialect: 'sqlite',
    path: './shop db.sqlite',
  });
});

void test('anything else is refused with what was expected', () => {
  for (const url of [
    'mysql://x/y',
    'shop.db',
    'sqlite:',
    'sqlite::memory:',
    'sqlite://rel.db',
    'postgres://[bad',
  ]) {
    const parsed = parseDatabaseUrl(url);
    assert.ok(parsed instanceof Error, url);
    assert.match(parsed.message, /expected postgres:\/\//, url);
    assert.equal(databaseDialectOf(url), undefined);
  }
});
