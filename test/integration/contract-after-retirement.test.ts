// Contract migrations run by the pipeline (issue 4 item 4, `migrations.contract`): a release's
// contract file is held while the standby exists, applied by the daemon right after the standby
// is retired (rollback window over, `standby.after: stop`), recorded in the history; `manual`
// leaves it to `cutover migrations contract`; a failing contract file is recorded once, never
// retried, and the daemon keeps serving. A real daemon and a real PostgreSQL server.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { HistoryEntry, MigrationsPlanResponse } from '../../src/client/api-types.ts';
import {
  errorCode,
  startPipelineDaemon,
  waitFor,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';

const ROLLBACK_WINDOW = '1500ms';
const RETIRE_WAIT_MS = 20_000;

/** Answers /healthz and / (`{ app, version }`) on $PORT; the database is the compat command's. */
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
  'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, legacy_code text);\n';
const ADD_NOTE = 'ALTER TABLE items ADD COLUMN note text;\n';
const DROP_LEGACY = '-- cutover:phase contract\nALTER TABLE items DROP COLUMN legacy_code;\n';
const V1_INSERT = "INSERT INTO items (name, legacy_code) VALUES ('v1 item', 'L1')";
const V2_INSERT = "INSERT INTO items (name, note) VALUES ('v2 item', 'a note')";

let server: TestPostgres;
let databases = 0;

before(async () => {
  server = await startTestPostgres();
});

after(async () => {
  await server.stop();
});

interface ReleaseOptions {
  readonly migrations: Readonly<Record<string, string>>;
  readonly insert: string;
  readonly contract?: 'auto' | 'manual';
  readonly standby?: Readonly<Record<string, unknown>>;
}

async function release(
  fx: PipelineDaemon,
  url: string,
  version: string,
  options: ReleaseOptions,
): Promise<ShopRelease> {
  const psql = join(server.binDir, 'psql');
  const command = `${psql} "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "${options.insert}"`;
  const made = await fx.release(version, {
    instances: 1,
    files: { 'app.mjs': APP_JS },
    config: {
      start: 'node app.mjs',
      database: { url, env: 'DATABASE_URL' },
      migrations: {
        dir: 'migrations',
        compat: { command, smoke: false },
        ...(options.contract === undefined ? {} : { contract: options.contract }),
      },
      standby: options.standby ?? { rollbackWindow: ROLLBACK_WINDOW, after: 'stop' },
    },
  });
  await mkdir(join(made.dir, 'migrations'));
  for (const [name, sql] of Object.entries(options.migrations)) {
    await writeFile(join(made.dir, 'migrations', name), sql);
  }
  return made;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface HistoryRow {
  readonly name: string;
  readonly phase: string;
  readonly release: string;
  readonly applied_at: Date;
}

function historyRows(url: string): Promise<HistoryRow[]> {
  return query<HistoryRow>(
    url,
    'SELECT name, phase, release, applied_at FROM cutover_migrations ORDER BY name',
  );
}

async function columnsOf(url: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position`,
  );
  return rows.map((row) => row.column_name);
}

async function events(fx: PipelineDaemon, type: string): Promise<HistoryEntry[]> {
  return (await fx.history()).filter((event) => event.type === type).sort((a, b) => a.id - b.id);
}

function waitEvent(fx: PipelineDaemon, type: string): Promise<HistoryEntry> {
  return waitFor(`a ${type} event`, async () => (await events(fx, type))[0], RETIRE_WAIT_MS);
}

async function status(fx: PipelineDaemon): Promise<MigrationsPlanResponse> {
  const reply = await fx.daemon.admin('GET', '/v1/apps/shop/migrations');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<MigrationsPlanResponse>();
}

async function withFixture(run: (fx: PipelineDaemon, url: string) => Promise<void>): Promise<void> {
  const fx = await startPipelineDaemon();
  try {
    databases += 1;
    await run(fx, await server.createDatabase(`contract_${process.pid}_${databases}`));
  } finally {
    await fx.close();
  }
}

async function deploySucceeded(fx: PipelineDaemon, made: ShopRelease): Promise<void> {
  const view = await fx.deployAndWait(made);
  assert.equal(view.outcome, 'succeeded', view.reason ?? '');
}

const v1Of = (fx: PipelineDaemon, url: string): Promise<ShopRelease> =>
  release(fx, url, 'v1', { migrations: { '001_items.sql': CREATE_ITEMS }, insert: V1_INSERT });

const V2_MIGRATIONS = {
  '001_items.sql': CREATE_ITEMS,
  '002_note.sql': ADD_NOTE,
  '003_drop_legacy.sql': DROP_LEGACY,
};

describe('contract migrations after the standby is retired', () => {
  it('holds the contract file while the standby exists, applies it right after retirement, then refuses a rollback', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      await deploySucceeded(
        fx,
        await release(fx, url, 'v2', { migrations: V2_MIGRATIONS, insert: V2_INSERT }),
      );

      // The standby v1 still writes legacy_code: the contract file waits.
      const app = await fx.app();
      assert.notEqual(app.standby, null);
      assert.deepEqual(
        (await historyRows(url)).map((row) => row.name),
        ['001_items.sql', '002_note.sql'],
      );
      assert.ok((await columnsOf(url)).includes('legacy_code'));
      const waiting = await status(fx);
      assert.deepEqual(waiting.contractPending, ['003_drop_legacy.sql']);
      assert.equal(waiting.contract?.mode, 'auto');
      assert.match(waiting.contract?.heldBy ?? '', /standby v1 on (blue|green)/);

      const contracted = await waitEvent(fx, 'migrations-contracted');
      const [retired] = await events(fx, 'standby-retired');
      assert.ok(retired !== undefined);
      assert.equal(retired.data.release, 'v1');
      assert.ok(retired.id < contracted.id, 'contracted before the standby was retired');
      assert.deepEqual(contracted.data.applied, ['003_drop_legacy.sql']);
      assert.equal(contracted.data.release, 'v2');
      assert.equal(typeof contracted.data.durationMs, 'number');
      const [file] = contracted.data.files as { name: string; durationMs: number }[];
      assert.equal(file?.name, '003_drop_legacy.sql');
      assert.ok((file?.durationMs ?? -1) >= 0);
      assert.match(String(contracted.data.actor), /standby was retired/);

      const rows = await historyRows(url);
      const row = rows.find((each) => each.name === '003_drop_legacy.sql');
      assert.equal(row?.phase, 'contract');
      assert.equal(row?.release, 'v2');
      // Applied right after the retirement, not before it (and not much later).
      const sinceRetiredMs = (row?.applied_at.getTime() ?? 0) - Date.parse(retired.at);
      assert.ok(sinceRetiredMs >= -50 && sinceRetiredMs < 10_000, `${sinceRetiredMs} ms`);
      assert.deepEqual(await columnsOf(url), ['id', 'name', 'note']);

      const after = await status(fx);
      assert.deepEqual(after.contractPending, []);
      assert.equal(after.contract?.heldBy, null);
      const rollback = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
      assert.equal(rollback.status, 409, rollback.body);
      assert.equal(errorCode(rollback), 'CUTOVER_ERR_ROLLBACK_NO_STANDBY');
      assert.equal(await fx.publicVersion(), 'v2');

      // A later release keeps v2 as its standby: v2 was placed before the contract ran, and
      // the rollback refusal reads the recorded contract run.
      await deploySucceeded(
        fx,
        await release(fx, url, 'v3', {
          migrations: V2_MIGRATIONS,
          insert: V2_INSERT,
          standby: { rollbackWindow: '10m', after: 'keep' },
        }),
      );
      const refused = await fx.daemon.admin('POST', '/v1/apps/shop/rollback', { body: {} });
      assert.equal(refused.status, 409, refused.body);
      assert.equal(errorCode(refused), 'CUTOVER_ERR_ROLLBACK_INCOMPATIBLE');
      assert.match(refused.body, /003_drop_legacy\.sql/);
      assert.equal(await fx.publicVersion(), 'v3');
      assert.equal((await events(fx, 'migrations-contracted')).length, 1);
    });
  });

  it('manual leaves the contract file to the command after the retirement', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      await deploySucceeded(
        fx,
        await release(fx, url, 'v2', {
          migrations: V2_MIGRATIONS,
          insert: V2_INSERT,
          contract: 'manual',
        }),
      );
      const held = await status(fx);
      assert.equal(held.contract?.mode, 'manual');
      assert.match(held.contract?.heldBy ?? '', /standby v1/);
      await waitEvent(fx, 'standby-retired');
      // Time for a contract run the retirement would have started, had it been auto.
      await delay(1_000);
      assert.deepEqual(await events(fx, 'migrations-contracted'), []);
      assert.ok((await columnsOf(url)).includes('legacy_code'));
      const ready = await status(fx);
      assert.deepEqual(ready.contractPending, ['003_drop_legacy.sql']);
      assert.deepEqual(ready.contract, { mode: 'manual', heldBy: null });

      const reply = await fx.daemon.admin('POST', '/v1/apps/shop/migrations/contract', {
        body: {},
      });
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(reply.json<{ applied: string[] }>().applied, ['003_drop_legacy.sql']);
      assert.deepEqual(await columnsOf(url), ['id', 'name', 'note']);
    });
  });

  it('records a failing contract file once, never retries it, and keeps serving', async () => {
    await withFixture(async (fx, url) => {
      await deploySucceeded(fx, await v1Of(fx, url));
      await deploySucceeded(
        fx,
        await release(fx, url, 'v2', {
          migrations: {
            ...V2_MIGRATIONS,
            '003_drop_legacy.sql':
              '-- cutover:phase contract\nALTER TABLE no_such_table DROP COLUMN legacy_code;\n',
          },
          insert: V2_INSERT,
        }),
      );
      const failed = await waitEvent(fx, 'migrations-contract-failed');
      assert.equal(failed.data.release, 'v2');
      assert.match(String(failed.data.message), /no_such_table/);
      assert.equal(typeof failed.data.code, 'string');
      await delay(1_500);
      assert.equal((await events(fx, 'migrations-contract-failed')).length, 1);
      assert.deepEqual(await events(fx, 'migrations-contracted'), []);
      assert.deepEqual(
        (await historyRows(url)).map((row) => row.name),
        ['001_items.sql', '002_note.sql'],
      );
      assert.equal(await fx.publicVersion(), 'v2');
      assert.equal(fx.daemon.child.exitCode, null);
      assert.deepEqual((await status(fx)).contractPending, ['003_drop_legacy.sql']);
    });
  });
});
