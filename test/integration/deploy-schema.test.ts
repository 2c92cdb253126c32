// The schema steps of the pipeline (issue 4; DESIGN.md steps 4 and 6; QUALITY.md E8) against a
// real daemon and a real PostgreSQL server (one for the file, one database per test). The app is
// a tiny HTTP server that never touches the database; each release's compat command is the
// INSERT its code does, run with psql against the shadow. Lint refusals, shadow refusals naming
// the live release, kill -9 around the expand migration, and a lock held past the lock timeout.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { DeploymentView } from '../../src/client/api-types.ts';
import {
  startPipelineDaemon,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';

const KILL_WAIT_MS = 30_000;

/** Answers /healthz and / (`{ app, version }`) on $PORT; no database access at all. */
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

const CREATE_ITEMS = 'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);\n';
const ADD_NOTE = 'ALTER TABLE items ADD COLUMN note text;\n';
const V1_INSERT = "INSERT INTO items (name) VALUES ('v1 item')";
const V2_INSERT = "INSERT INTO items (name, note) VALUES ('v2 item', 'a note')";

let server: TestPostgres;
let databases = 0;

before(async () => {
  server = await startTestPostgres();
});

after(async () => {
  await server.stop();
});

interface SchemaReleaseOptions {
  /** Every migration file up to this release, name -> SQL. */
  readonly migrations: Readonly<Record<string, string>>;
  /** The INSERT this release's code does: its compat command runs it on the shadow. */
  readonly insert: string;
  readonly migrationsConfig?: Readonly<Record<string, unknown>>;
}

/** A fresh database on the file's server, and a way to write releases that use it. */
async function freshDatabase(): Promise<string> {
  databases += 1;
  return server.createDatabase(`deploy_schema_${process.pid}_${databases}`);
}

async function schemaRelease(
  fx: PipelineDaemon,
  url: string,
  version: string,
  options: SchemaReleaseOptions,
): Promise<ShopRelease> {
  const psql = join(server.binDir, 'psql');
  const command = `${psql} "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "${options.insert}"`;
  const release = await fx.release(version, {
    instances: 1,
    files: { 'app.mjs': APP_JS },
    config: {
      start: 'node app.mjs',
      database: { url, env: 'DATABASE_URL' },
      migrations: {
        dir: 'migrations',
        compat: { command, smoke: false },
        ...options.migrationsConfig,
      },
    },
  });
  await mkdir(join(release.dir, 'migrations'));
  for (const [name, sql] of Object.entries(options.migrations)) {
    await writeFile(join(release.dir, 'migrations', name), sql);
  }
  return release;
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

interface HistoryRow {
  readonly name: string;
  readonly phase: string;
  readonly release: string;
}

function historyRows(url: string): Promise<HistoryRow[]> {
  return query<HistoryRow>(
    url,
    'SELECT name, phase, release FROM cutover_migrations ORDER BY name',
  );
}

async function columnsOf(url: string, table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((row) => row.column_name);
}

async function shadowDatabases(): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    server.adminUrl,
    `SELECT datname FROM pg_database WHERE datname LIKE 'cutover_shadow_%'
        AND datname NOT LIKE 'cutover_shadow_template_%'`,
  );
  return rows.map((row) => row.datname);
}

function stepsOf(view: DeploymentView): string[] {
  return view.steps.map((step) => step.step);
}

async function withFixture(
  run: (fx: PipelineDaemon, url: string) => Promise<void>,
  env?: Readonly<Record<string, string>>,
): Promise<void> {
  const fx = await startPipelineDaemon(env === undefined ? {} : { env });
  try {
    await run(fx, await freshDatabase());
  } finally {
    await fx.close();
  }
}

const v1Of = (fx: PipelineDaemon, url: string): Promise<ShopRelease> =>
  schemaRelease(fx, url, 'v1', {
    migrations: { '001_items.sql': CREATE_ITEMS },
    insert: V1_INSERT,
  });

const v2Of = (
  fx: PipelineDaemon,
  url: string,
  migrationsConfig?: Readonly<Record<string, unknown>>,
): Promise<ShopRelease> =>
  schemaRelease(fx, url, 'v2', {
    migrations: { '001_items.sql': CREATE_ITEMS, '002_note.sql': ADD_NOTE },
    insert: V2_INSERT,
    ...(migrationsConfig === undefined ? {} : { migrationsConfig }),
  });

async function deploySucceeded(fx: PipelineDaemon, release: ShopRelease): Promise<DeploymentView> {
  const view = await fx.deployAndWait(release);
  assert.equal(view.outcome, 'succeeded', view.reason ?? '');
  return view;
}

describe('the schema steps of a deployment on PostgreSQL', () => {
  it('applies a create-table release, then an added nullable column, each checked on a shadow first', async () => {
    await withFixture(async (fx, url) => {
      const first = await deploySucceeded(fx, await v1Of(fx, url));
      assert.deepEqual(first.report.schema?.pending, ['001_items.sql']);
      assert.equal(first.report.schema?.shadow?.passed, true);
      assert.deepEqual(first.report.migrate?.applied, ['001_items.sql']);

      const view = await deploySucceeded(fx, await v2Of(fx, url));
      const shadow = view.report.schema?.shadow;
      assert.ok(shadow !== undefined, JSON.stringify(view.report.schema));
      assert.equal(shadow.passed, true, shadow.failures.join('; '));
      assert.deepEqual(shadow.applied, ['002_note.sql']);
      assert.deepEqual(shadow.live, { release: 'v1', passed: true });
      assert.deepEqual(shadow.next, { release: 'v2', passed: true });
      assert.deepEqual(shadow.notChecked, []);
      assert.deepEqual(view.report.migrate?.applied, ['002_note.sql']);
      // The shadow runs before anything starts; the real migration after the instances are healthy.
      const steps = stepsOf(view);
      assert.ok(steps.indexOf('schema-check') < steps.indexOf('starting'), steps.join(' '));
      assert.ok(steps.indexOf('starting') < steps.indexOf('migrating'), steps.join(' '));
      assert.ok(steps.indexOf('migrating') < steps.indexOf('flipping'), steps.join(' '));

      assert.deepEqual(await historyRows(url), [
        { name: '001_items.sql', phase: 'expand', release: 'v1' },
        { name: '002_note.sql', phase: 'expand', release: 'v2' },
      ]);
      assert.deepEqual(await columnsOf(url, 'items'), ['id', 'name', 'note']);
      // The shadows' rows never reach production; the shadows themselves are gone.
      assert.deepEqual(await query(url, 'SELECT name FROM items'), []);
      assert.deepEqual(await shadowDatabases(), []);
      assert.equal(await fx.publicVersion(), 'v2');
    });
  });

  it('refuses a column rename at schema-check: the database unchanged, nothing started, the standby kept', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      await deploySucceeded(fx, await v2Of(fx, url));
      const historyBefore = await historyRows(url);
      const v3 = await schemaRelease(fx, url, 'v3', {
        migrations: {
          '001_items.sql': CREATE_ITEMS,
          '002_note.sql': ADD_NOTE,
          '003_title.sql': 'ALTER TABLE items RENAME COLUMN name TO title;\n',
        },
        insert: "INSERT INTO items (title) VALUES ('v3 item')",
      });
      const view = await fx.deployAndWait(v3);
      assert.equal(view.outcome, 'failed', view.reason ?? '');
      assert.match(view.reason ?? '', /linter blocked 1 statement/);
      assert.match(view.reason ?? '', /rename-column at .*003_title\.sql:1/);
      assert.equal(view.report.schema?.lint?.blocking, 1);
      assert.equal(view.report.schema?.shadow, undefined);
      assert.equal(view.flipped, false);
      const steps = stepsOf(view);
      assert.ok(steps.includes('schema-check'), steps.join(' '));
      assert.ok(!steps.includes('starting'), steps.join(' '));
      assert.ok(!steps.includes('migrating'), steps.join(' '));

      assert.deepEqual(await historyRows(url), historyBefore);
      assert.deepEqual(await columnsOf(url, 'items'), ['id', 'name', 'note']);
      const records = await fx.records();
      assert.deepEqual(
        records.filter((record) => record.release === 'v3'),
        [],
      );
      const status = await fx.app();
      assert.equal(status.colors[status.live ?? 'blue'].release, 'v2');
      assert.equal(status.standby === null ? null : status.colors[status.standby].release, 'v1');
      assert.equal(await fx.publicVersion(), 'v2');

      const rollback = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
      assert.equal(rollback.status, 200, rollback.body);
      assert.equal(await fx.publicVersion(), 'v1');
    });
  });

  it('refuses at schema-check a release whose database URL var is not set, naming the var', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      const v2 = await fx.release('v2', {
        instances: 1,
        files: { 'app.mjs': APP_JS },
        config: {
          start: 'node app.mjs',
          database: { url: { fromEnv: 'CUTOVER_TEST_UNSET_DB' }, env: 'DATABASE_URL' },
          // The database moved to a var: the drift it is, accepted here to reach schema-check.
          drift: { expect: ['env.SHOP_*', 'database.url'] },
        },
      });
      const view = await fx.deployAndWait(v2);
      assert.equal(view.outcome, 'failed', view.reason ?? '');
      assert.match(
        view.reason ?? '',
        /database URL of v2 cannot be resolved: env\.DATABASE_URL: \$CUTOVER_TEST_UNSET_DB is not set\. Set it/,
      );
      assert.doesNotMatch(view.reason ?? '', /crashed/);
      assert.ok(!stepsOf(view).includes('starting'), stepsOf(view).join(' '));
      assert.equal(await fx.publicVersion(), 'v1');
    });
  });

  it('refuses at schema-check a migration that breaks the live release on the shadow, naming it', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      const v2 = await schemaRelease(fx, url, 'v2', {
        migrations: {
          '001_items.sql': CREATE_ITEMS,
          // NOT VALID skips the existing rows but checks every new one: v1's INSERT has no note.
          '002_note.sql':
            ADD_NOTE +
            'ALTER TABLE items ADD CONSTRAINT items_note_set CHECK (note IS NOT NULL) NOT VALID;\n',
        },
        insert: V2_INSERT,
      });
      const view = await fx.deployAndWait(v2);
      assert.equal(view.outcome, 'failed', view.reason ?? '');
      assert.match(view.reason ?? '', /the shadow check failed: live release v1 failed/);
      assert.match(view.reason ?? '', /items_note_set/);
      const shadow = view.report.schema?.shadow;
      assert.ok(shadow !== undefined, JSON.stringify(view.report.schema));
      assert.equal(shadow.passed, false);
      assert.deepEqual(shadow.live, { release: 'v1', passed: false });
      assert.deepEqual(shadow.next, { release: 'v2', passed: true });
      assert.equal(view.report.migrate, undefined);
      assert.equal(view.flipped, false);
      assert.ok(!stepsOf(view).includes('starting'), stepsOf(view).join(' '));

      assert.deepEqual(await historyRows(url), [
        { name: '001_items.sql', phase: 'expand', release: 'v1' },
      ]);
      assert.deepEqual(await columnsOf(url, 'items'), ['id', 'name']);
      assert.deepEqual(await shadowDatabases(), []);
      assert.deepEqual(
        (await fx.records()).filter((record) => record.release === 'v2'),
        [],
      );
      assert.equal(await fx.publicVersion(), 'v1');
    });
  });

  for (const failpoint of ['persisted:migrating', 'effect-done:migrate-expand']) {
    it(`resumes after a kill -9 at ${failpoint}: succeeded, each file in the history once`, async () => {
      // The fixture reads this object at each restart: the failpoint is set for one daemon only.
      const env: Record<string, string> = {};
      await withFixture(async (fx, url) => {
        await deploySucceeded(fx, await v1Of(fx, url));
        const v2 = await v2Of(fx, url);
        env['CUTOVER_FAILPOINT'] = failpoint;
        await fx.restart('SIGTERM');
        delete env['CUTOVER_FAILPOINT'];
        const { id } = await fx.start(v2);
        const exit = await Promise.race([
          fx.daemon.exited(),
          delay(KILL_WAIT_MS, null, { ref: false }),
        ]);
        assert.equal(exit?.signal, 'SIGKILL', `no kill at ${failpoint}: ${fx.daemon.stderr()}`);
        await fx.restart('SIGKILL');
        const view = await fx.waitEnded(id);
        assert.equal(view.outcome, 'succeeded', view.reason ?? '');
        assert.ok(view.resumes >= 1, `resumes: ${view.resumes}`);
        assert.deepEqual(view.report.migrate?.applied, ['002_note.sql']);
        assert.deepEqual(await historyRows(url), [
          { name: '001_items.sql', phase: 'expand', release: 'v1' },
          { name: '002_note.sql', phase: 'expand', release: 'v2' },
        ]);
        assert.deepEqual(await columnsOf(url, 'items'), ['id', 'name', 'note']);
        assert.equal(await fx.publicVersion(), 'v2');
      }, env);
    });
  }

  it('fails at migrating when another session holds a lock on the table past lockTimeout x retries', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      const v2 = await v2Of(fx, url, { lockTimeout: '200ms', retries: 1 });
      // An idle transaction that read the table: ACCESS SHARE, which the shadow's pg_dump shares
      // but ADD COLUMN's ACCESS EXCLUSIVE waits for.
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      let view: DeploymentView;
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT count(*) FROM items');
        view = await fx.deployAndWait(v2);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
      }
      assert.equal(view.outcome, 'failed', view.reason ?? '');
      assert.match(view.reason ?? '', /002_note\.sql/);
      assert.match(view.reason ?? '', /lock_timeout \(200 ms\) on 2 attempts/);
      assert.equal(view.report.schema?.shadow?.passed, true);
      assert.equal(view.report.migrate, undefined);
      assert.equal(view.flipped, false);
      const steps = stepsOf(view);
      assert.ok(steps.includes('migrating'), steps.join(' '));
      assert.ok(!steps.includes('flipping'), steps.join(' '));
      assert.deepEqual(await historyRows(url), [
        { name: '001_items.sql', phase: 'expand', release: 'v1' },
      ]);
      assert.deepEqual(await columnsOf(url, 'items'), ['id', 'name']);
      assert.equal(await fx.publicVersion(), 'v1');
      const status = await fx.app();
      assert.equal(status.colors[status.live ?? 'blue'].release, 'v1');
    });
  });
});
