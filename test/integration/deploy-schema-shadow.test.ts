// The shadow check's own instances and writes (issue 4 item 3; QUALITY.md section 3, last two
// lines) through a real daemon:
// - SQLite, the shop's code: without any compat command, v2's smoke checks, run on an instance
//   of v2 started on v6's migrated shadow, fail to place an order (v6's trigger), so v6 stops at
//   schema-check with nothing touched; a compatible release passes; no shadow instance is left
//   running or recorded, even after a kill -9 of the daemon in the middle of the check.
// - PostgreSQL: a NOT VALID CHECK the existing rows violate passes the compat command on the
//   empty shadow, but the live release's UPDATE in its writes file fails once the shadow is
//   seeded with the live rows; production is never written.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { DeploymentView } from '../../src/client/api-types.ts';
import {
  SHOP_SERVER,
  startPipelineDaemon,
  waitFor,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

const SHOP_DIR = resolve(import.meta.dirname, '../../examples/shop');

function stepsOf(view: DeploymentView): string[] {
  return view.steps.map((step) => step.step);
}

/**
 * Running processes of a shadow instance of this test's releases: their environment holds the
 * test's `marker` (from the release env) and a CUTOVER_INSTANCE named `<release>-shadow`.
 */
async function shadowProcesses(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = (await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '')).split('\0');
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    const shadow = environ.some((entry) => /^CUTOVER_INSTANCE=.*-shadow$/.test(entry));
    if (environ.includes(marker) && shadow && state !== 'Z' && state !== 'X') found.push(name);
  }
  return found;
}

function deploySucceeded(view: DeploymentView): void {
  assert.equal(view.outcome, 'succeeded', view.reason ?? '');
}

describe('smoke checks on instances started on a SQLite shadow (the shop)', () => {
  let fx: PipelineDaemon;
  let dbPath: string;
  const marker = `SHOP_TEST_MARK=${randomBytes(6).toString('hex')}`;

  before(async () => {
    fx = await startPipelineDaemon();
    dbPath = join(fx.dataDir, 'shop.db');
  });

  after(async () => {
    await fx.close();
  });

  /** The shop's release `version` (its columns and migrations), with no compat command at all. */
  async function shopRelease(
    version: string,
    columns: string,
    migrationsFrom: string,
    extra: Readonly<Record<string, string>> = {},
    startDelaySeconds = 0,
  ): Promise<ShopRelease> {
    const release = await fx.release(version, {
      instances: 1,
      env: { SHOP_ORDER_COLUMNS: columns, SHOP_TEST_MARK: marker.split('=')[1] },
      config: {
        ...(startDelaySeconds === 0
          ? {}
          : { start: `sleep ${startDelaySeconds}; exec node ${SHOP_SERVER}` }),
        // Some releases start slower (a test's way to catch their shadow instance): not drift.
        drift: { expect: ['env.SHOP_*', 'config.start'] },
        database: { url: `sqlite:${dbPath}`, env: 'DATABASE_URL' },
        migrations: { dir: 'migrations', compat: { smoke: true } },
        smoke: [
          { path: '/', status: 200, json: { app: 'shop', version } },
          // A write: a guest's empty order.
          { path: '/api/orders', method: 'POST', status: 201, json: { version } },
        ],
      },
    });
    await mkdir(join(release.dir, 'migrations'));
    const from = join(SHOP_DIR, migrationsFrom, 'migrations');
    for (const name of await readdir(from)) {
      await copyFile(join(from, name), join(release.dir, 'migrations', name));
    }
    for (const [name, sql] of Object.entries(extra)) {
      await writeFile(join(release.dir, 'migrations', name), sql);
    }
    return release;
  }

  function ordersColumns(): string[] {
    const db = new DatabaseSync(dbPath);
    try {
      return db
        .prepare('SELECT name FROM pragma_table_info(?)')
        .all('orders')
        .map((row) => String(row.name));
    } finally {
      db.close();
    }
  }

  it('v1 then v2 pass with both releases smoke-checked on the shadow', async () => {
    deploySucceeded(
      await fx.deployAndWait(
        await shopRelease('v1', 'customer,items,total_cents,created_at', 'v1'),
      ),
    );
    // v2 takes 2 s to start: time for the scan below to see its shadow instance.
    const started = await fx.start(
      await shopRelease('v2', 'customer,items,total_cents,created_at,note', 'v2', {}, 2),
    );
    // The shadow instances run while the schema check does (which also shows this test's
    // process scan finds them), and are gone once it ends.
    const seen = await waitFor('a shadow instance to run', async () => {
      const found = await shadowProcesses(marker);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(seen.length > 0);
    const view = await fx.waitEnded(started.id);
    deploySucceeded(view);
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined, JSON.stringify(view.report.schema));
    assert.deepEqual(shadow.notChecked, []);
    assert.deepEqual(
      shadow.checks?.map((check) => [check.role, check.release, check.name, check.passed]),
      [
        ['live', 'v1', 'an instance of v1 started on the shadow', true],
        ['live', 'v1', 'smoke check GET /', true],
        ['live', 'v1', 'smoke check POST /api/orders', true],
        ['new', 'v2', 'an instance of v2 started on the shadow', true],
        ['new', 'v2', 'smoke check GET /', true],
        ['new', 'v2', 'smoke check POST /api/orders', true],
      ],
    );
    // The instances' time is the app's, not cutover's.
    assert.ok(shadow.checksMs >= 0 && shadow.cutoverMs >= 0);
    // Never recorded as app instances, and none left running.
    const records = await fx.records();
    assert.deepEqual(records.map((record) => record.release).sort(), ['v1', 'v2']);
    assert.deepEqual(await shadowProcesses(marker), []);
  });

  it('v6 stops at schema-check: the live v2 fails its order on the shadow, without any compat command', async () => {
    const before = (await fx.records()).map((record) => record.id);
    const view = await fx.deployAndWait(
      await shopRelease('v6', 'customer,items,total_cents,created_at,note,channel', 'v6'),
    );
    assert.equal(view.outcome, 'failed', view.reason ?? '');
    assert.match(
      view.reason ?? '',
      /the shadow check failed: live release v2 failed smoke check POST \/api\/orders on the migrated shadow: status 500, expected 201$/,
    );
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined);
    assert.deepEqual(shadow.live, { release: 'v2', passed: false });
    assert.deepEqual(shadow.next, { release: 'v6', passed: true });
    assert.ok(!stepsOf(view).includes('starting'), stepsOf(view).join(' '));
    assert.equal(view.flipped, false);
    // Nothing touched: the schema, the instances, the live release.
    assert.deepEqual(ordersColumns(), [
      'id',
      'customer',
      'items',
      'total_cents',
      'created_at',
      'note',
    ]);
    assert.deepEqual(
      (await fx.records()).map((record) => record.id),
      before,
    );
    assert.equal(await fx.publicVersion(), 'v2');
    assert.deepEqual(await shadowProcesses(marker), []);
  });

  it('a compatible release after v2 (a nullable channel, no trigger) passes', async () => {
    const view = await fx.deployAndWait(
      await shopRelease('v7', 'customer,items,total_cents,created_at,note,channel', 'v2', {
        '0003_add_channel.sql': 'ALTER TABLE orders ADD COLUMN channel text;\n',
      }),
    );
    deploySucceeded(view);
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined);
    assert.deepEqual(shadow.failures, []);
    assert.deepEqual(shadow.live, { release: 'v2', passed: true });
    assert.deepEqual(shadow.next, { release: 'v7', passed: true });
    assert.ok(ordersColumns().includes('channel'));
    assert.equal(await fx.publicVersion(), 'v7');
    assert.deepEqual(await shadowProcesses(marker), []);
  });

  it('kill -9 of the daemon during the shadow check kills its instances; the resumed deployment succeeds', async () => {
    const started = await fx.start(
      await shopRelease(
        'v8',
        'customer,items,total_cents,created_at,note,channel',
        'v2',
        {
          '0003_add_channel.sql': 'ALTER TABLE orders ADD COLUMN channel text;\n',
          '0004_add_gift.sql': 'ALTER TABLE orders ADD COLUMN gift integer;\n',
        },
        3,
      ),
    );
    const seen = await waitFor('a shadow instance to run', async () => {
      const found = await shadowProcesses(marker);
      return found.length > 0 ? found : undefined;
    });
    await fx.restart('SIGKILL');
    // The watchdog of each shadow instance saw the daemon's pipe close and killed its group.
    await waitFor(
      'the shadow instances of the killed daemon to be gone',
      async () => {
        const left = await shadowProcesses(marker);
        return seen.some((pid) => left.includes(pid)) ? undefined : true;
      },
      5_000,
    );
    const view = await fx.waitEnded(started.id);
    deploySucceeded(view);
    assert.ok(view.resumes >= 1, `resumes: ${view.resumes}`);
    assert.ok(ordersColumns().includes('gift'));
    assert.equal(await fx.publicVersion(), 'v8');
    assert.deepEqual(await shadowProcesses(marker), []);
  });
});

describe('the live release\u2019s writes on a PostgreSQL shadow seeded with live rows', () => {
  let server: TestPostgres;
  let fx: PipelineDaemon;
  let url: string;

  /** Answers /healthz and / (`{ app, version }`) on $PORT; it never touches the database. */
  const APP_JS = `import { createServer } from 'node:http';
const version = process.env.SHOP_VERSION;
const server = createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'shop', version }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(Number(process.env.PORT), '127.0.0.1');
`;
  const CREATE_ITEMS =
    'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, quantity integer NOT NULL);\n';
  // v1's code: it adds items and renames the first one.
  const V1_WRITES = `-- What v1 writes.
INSERT INTO items (name, quantity) VALUES ('new mug', 1);
UPDATE items SET name = name || ' (renamed)' WHERE id = 1;
`;

  before(async () => {
    server = await startTestPostgres();
    url = await server.createDatabase(`shadow_writes_${process.pid}`);
    fx = await startPipelineDaemon();
  });

  after(async () => {
    await fx.close();
    await server.stop();
  });

  async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  async function release(
    version: string,
    migrations: Readonly<Record<string, string>>,
  ): Promise<ShopRelease> {
    const psql = join(server.binDir, 'psql');
    // The compat command: the INSERT of a fresh item, which a NOT VALID check lets through.
    const insert = `INSERT INTO items (name, quantity) VALUES ('${version} item', 1)`;
    const made = await fx.release(version, {
      instances: 1,
      files: { 'app.mjs': APP_JS, 'writes.sql': V1_WRITES },
      config: {
        start: 'node app.mjs',
        database: { url, env: 'DATABASE_URL' },
        migrations: {
          dir: 'migrations',
          compat: {
            command: `${psql} "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "${insert}"`,
            writes: 'writes.sql',
          },
        },
      },
    });
    await mkdir(join(made.dir, 'migrations'));
    for (const [name, sql] of Object.entries(migrations)) {
      await writeFile(join(made.dir, 'migrations', name), sql);
    }
    return made;
  }

  async function production(): Promise<string> {
    const rows = await query(
      `SELECT (SELECT json_agg(i ORDER BY id) FROM items i)::text AS items,
              (SELECT array_agg(conname) FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c')::text AS checks,
              (SELECT json_agg(name ORDER BY name) FROM cutover_migrations)::text AS history`,
    );
    return JSON.stringify(rows);
  }

  it('refuses a NOT VALID check that the live rows violate: the old release\u2019s UPDATE fails on the seeded shadow', async () => {
    deploySucceeded(await fx.deployAndWait(await release('v1', { '001_items.sql': CREATE_ITEMS })));
    // Rows from before quantities had to be positive.
    await query(
      "INSERT INTO items (name, quantity) VALUES ('legacy mug', 0), ('legacy shirt', 0), ('sticker', 3)",
    );
    const before = await production();
    const view = await fx.deployAndWait(
      await release('v2', {
        '001_items.sql': CREATE_ITEMS,
        // The linter's finding overruled with a reason the data proves wrong.
        '002_positive.sql':
          '-- cutover:ignore add-constraint-existing-columns every item has a positive quantity\n' +
          'ALTER TABLE items ADD CONSTRAINT items_quantity_positive CHECK (quantity > 0) NOT VALID;\n',
      }),
    );
    assert.equal(view.outcome, 'failed', view.reason ?? '');
    assert.match(
      view.reason ?? '',
      /live release v1 failed its write at writes\.sql:3 on the migrated shadow: UPDATE items SET .*: new row for relation "items" violates check constraint "items_quantity_positive"/,
    );
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined);
    assert.deepEqual(shadow.seeded, [{ table: 'public.items', rows: 3 }]);
    // The compat command's fresh INSERT passed: only the seeded data shows the breakage.
    const checks = (shadow.checks ?? []).filter((check) => check.role === 'live');
    assert.deepEqual(
      checks.map((check) => [check.name.replace(/`.*`/, '`...`'), check.passed]),
      [
        ['the compat command `...`', true],
        ['an instance of v1 started on the shadow', true],
        ['smoke check GET /', true],
        ['its write at writes.sql:3', false],
      ],
    );
    assert.ok(!stepsOf(view).includes('starting'));
    assert.equal(await production(), before, 'production was only read');
    assert.equal(await fx.publicVersion(), 'v1');
  });

  it('passes a check the live rows meet, seeding the shadow and leaving production as it was', async () => {
    const before = await production();
    const view = await fx.deployAndWait(
      await release('v3', {
        '001_items.sql': CREATE_ITEMS,
        '002_not_negative.sql':
          '-- cutover:ignore add-constraint-existing-columns no item has a negative quantity\n' +
          'ALTER TABLE items ADD CONSTRAINT items_quantity_not_negative CHECK (quantity >= 0) NOT VALID;\n',
      }),
    );
    deploySucceeded(view);
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined);
    assert.deepEqual(shadow.seeded, [{ table: 'public.items', rows: 3 }]);
    assert.ok(
      (shadow.checks ?? []).some(
        (check) =>
          check.role === 'live' && check.name === 'its writes in writes.sql' && check.passed,
      ),
    );
    // Only the real migration changed production: no row from the shadow's writes.
    const after = JSON.parse(await production()) as { items: string; checks: string }[];
    const was = JSON.parse(before) as { items: string }[];
    assert.equal(after[0]?.items, was[0]?.items);
    assert.match(after[0]?.checks ?? '', /items_quantity_not_negative/);
  });
});

describe('an app on the external runtime: no instance on the shadow, and the report says so', () => {
  let fx: PipelineDaemon;
  let upstreams: Upstream[];

  before(async () => {
    fx = await startPipelineDaemon();
    upstreams = await Promise.all([
      startUpstream({ name: 'shop-v1' }),
      startUpstream({ name: 'shop-v2' }),
    ]);
  });

  after(async () => {
    await fx.close();
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });

  async function externalRelease(
    version: string,
    migrations: Readonly<Record<string, string>>,
  ): Promise<ShopRelease> {
    const dir = await mkdtemp(join(fx.dataDir, `${version}-`));
    const config = [
      'app: shop',
      'runtime: external',
      'database:',
      `  url: sqlite:${join(fx.dataDir, 'external.db')}`,
      'migrations:',
      '  dir: migrations',
      'health:',
      '  interval: 50ms',
      '  rise: 1',
      'switch:',
      '  probeWindow: 200ms',
      '  probeInterval: 50ms',
      '',
    ].join('\n');
    await writeFile(join(dir, 'cutover.yaml'), config);
    await mkdir(join(dir, 'migrations'));
    for (const [name, sql] of Object.entries(migrations)) {
      await writeFile(join(dir, 'migrations', name), sql);
    }
    return { app: 'shop', release: version, dir, config };
  }

  it('skips the smoke checks on the shadow with a note for each release, and deploys', async () => {
    const create = { '001_items.sql': 'CREATE TABLE items (id integer PRIMARY KEY, name text);\n' };
    const first = await fx.start(await externalRelease('v1', create), [
      upstreams[0]?.address ?? '',
    ]);
    deploySucceeded(await fx.waitEnded(first.id));
    const second = await fx.start(
      await externalRelease('v2', {
        ...create,
        '002_note.sql': 'ALTER TABLE items ADD COLUMN note text;\n',
      }),
      [upstreams[1]?.address ?? ''],
    );
    const view = await fx.waitEnded(second.id);
    deploySucceeded(view);
    const shadow = view.report.schema?.shadow;
    assert.ok(shadow !== undefined, JSON.stringify(view.report.schema));
    assert.deepEqual(shadow.applied, ['002_note.sql']);
    assert.deepEqual(shadow.checks, []);
    assert.deepEqual(shadow.notChecked, [
      'the new release v2 runs on the external runtime: cutover cannot start it on the shadow, so its smoke checks did not run there',
      'the new release v2 has no compat check (migrations.compat.command, .smoke or .writes)',
      'the live release v1 runs on the external runtime: cutover cannot start it on the shadow, so its smoke checks did not run there',
      'the live release v1 has no compat check (migrations.compat.command, .smoke or .writes)',
    ]);
  });
});
