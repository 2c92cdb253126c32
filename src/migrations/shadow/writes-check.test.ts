// The writes check on real SQLite files: the file's statements read with their lines and
// tables, refused when they are not writes, run on a migrated shadow copy in one rolled-back
// transaction; the data-dependent case (a legacy row a new trigger rejects on UPDATE) caught
// while a fresh INSERT passes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteMigrationTarget } from '../../adapters/database/sqlite/sqlite-migration-target.ts';
import type { MigrationFile } from '../../core/migration-file.ts';
import type { MigrationTarget } from '../../ports/database.ts';
import { runCompatCheck } from './compat-check.ts';
import type { CheckOutcome } from './compat-check.ts';
import { createWritesCheck, readWritesFile } from './writes-check.ts';

let root: string;
let dbPath: string;
let target: MigrationTarget;

const WRITES = `-- What v1 writes.
INSERT INTO orders (customer, total_cents) VALUES ('ada', 1200);

UPDATE orders
   SET customer = upper(customer)
 WHERE id = 1;
DELETE FROM orders WHERE customer = 'nobody';
`;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cutover-writes-'));
  dbPath = join(root, 'shop.db');
  const db = new DatabaseSync(dbPath);
  db.exec(`CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, total_cents integer NOT NULL);
           INSERT INTO orders (customer, total_cents) VALUES ('legacy', -5), ('bob', 300);`);
  db.close();
  target = await openSqliteMigrationTarget(`sqlite:${dbPath}`);
});

after(async () => {
  await target.close();
  await rm(root, { recursive: true, force: true });
});

async function writesFile(name: string, text: string): Promise<string> {
  const path = join(root, name);
  await writeFile(path, text);
  return path;
}

function migration(name: string, sql: string): MigrationFile {
  return {
    name,
    path: `migrations/${name}`,
    phase: 'expand',
    transactional: true,
    sql,
    checksum: name,
  };
}

function count(): number {
  const db = new DatabaseSync(dbPath);
  try {
    return Number(db.prepare('SELECT count(*) AS n FROM orders').get()?.n);
  } finally {
    db.close();
  }
}

void test('reads a writes file: each statement with its line and the table it writes', async () => {
  const file = await readWritesFile(await writesFile('writes.sql', WRITES), 'writes.sql', 'sqlite');
  assert.deepEqual(
    file.statements.map((statement) => [statement.line, statement.table]),
    [
      [2, 'orders'],
      [4, 'orders'],
      [7, 'orders'],
    ],
  );
  const sqlite = await readWritesFile(
    await writesFile(
      'upsert.sql',
      "INSERT OR IGNORE INTO orders (id, customer, total_cents) VALUES (1, 'x', 1);\n",
    ),
    'upsert.sql',
    'sqlite',
  );
  assert.equal(sqlite.statements.length, 1);
});

void test('refuses a writes file holding anything but writes, naming the line', async () => {
  await assert.rejects(
    readWritesFile(
      await writesFile(
        'bad.sql',
        "INSERT INTO orders VALUES (9, 'x', 1);\nSELECT * FROM orders;\n",
      ),
      'bad.sql',
      'postgres',
    ),
    /^Error: bad\.sql:2 is a SELECT statement: migrations\.compat\.writes holds only the INSERT, UPDATE and DELETE/,
  );
  await assert.rejects(
    readWritesFile(await writesFile('ddl.sql', 'DROP TABLE orders;\n'), 'ddl.sql', 'sqlite'),
    /ddl\.sql:1 is a DROP statement/,
  );
  await assert.rejects(
    readWritesFile(join(root, 'missing.sql'), 'missing.sql', 'sqlite'),
    /cannot read missing\.sql \(ENOENT\)/,
  );
  await assert.rejects(
    readWritesFile(await writesFile('empty.sql', '-- nothing\n'), 'empty.sql', 'sqlite'),
    /empty\.sql holds no statement/,
  );
});

void test('runs the writes on the shadow and rolls them back', async () => {
  const file = await readWritesFile(await writesFile('writes.sql', WRITES), 'writes.sql', 'sqlite');
  const shadow = await target.createShadow();
  try {
    const check = createWritesCheck({ file, dialect: 'sqlite' });
    const outcome = await check(shadow.target.url);
    assert.equal(outcome.passed, true, JSON.stringify(outcome));
    assert.equal(outcome.checks[0]?.name, 'its writes in writes.sql');
    const copy = new DatabaseSync(shadow.target.url.slice('sqlite:'.length));
    try {
      const rows = copy.prepare('SELECT customer FROM orders ORDER BY id').all();
      assert.deepEqual(
        rows.map((row) => row.customer),
        ['legacy', 'bob'],
        'rolled back: no new order, no name changed',
      );
    } finally {
      copy.close();
    }
  } finally {
    await shadow.drop();
  }
});

void test('a trigger that rejects updates of legacy rows fails the writes on the shadow copy, with the line and error', async () => {
  const file = await readWritesFile(await writesFile('writes.sql', WRITES), 'writes.sql', 'sqlite');
  // A fresh order passes: what a compat command inserting a new row would see.
  const insertOnly: CheckOutcome = { passed: true, checks: [] };
  const report = await runCompatCheck({
    target,
    files: [
      migration(
        '0002_total_positive.sql',
        `CREATE TRIGGER orders_total_positive BEFORE UPDATE ON orders
         WHEN NEW.total_cents < 0
         BEGIN SELECT RAISE(ABORT, 'orders.total_cents must be positive'); END;`,
      ),
    ],
    release: 'v2',
    liveRelease: 'v1',
    checks: {
      live: createWritesCheck({ file, dialect: 'sqlite' }),
      next: () => Promise.resolve(insertOnly),
    },
  });
  assert.equal(report.passed, false);
  assert.deepEqual(report.failures, [
    'live release v1 failed its write at writes.sql:4 on the migrated shadow: UPDATE orders: orders.total_cents must be positive',
  ]);
  // Production untouched: the same two rows, no trigger.
  assert.equal(count(), 2);
  assert.deepEqual(await target.applied(), []);
});
