// Issue 5 (security): the process runtime's instance records hold secret references, never
// their values. A real app with a `fromEnv` secret, a `fromFile` secret and a database URL from
// a secret is started through the real process runtime; every file under the data dir is read
// for the values; a re-created runtime (a daemon restart) adopts the instance and, after a crash,
// restarts it with the values resolved again, or reports why it cannot. The last test does the
// same through a real daemon: deployed, kill -9, an adopted instance crashed and restarted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
} from '../../src/adapters/runtime/process/process-runtime.ts';
import { parseAppConfigText } from '../../src/config/load-app-config.ts';
import { toProcessStartSpec } from '../../src/config/process-start-spec.ts';
import { appEnvSources, resolveAppEnv } from '../../src/config/resolve-app-env.ts';
import type { InstanceSpec } from '../../src/core/types.ts';
import type { InstanceEvent, ProcessStartSpec } from '../../src/ports/runtime.ts';
import { isAlive, startPipelineDaemon, waitFor } from '../helpers/pipeline-fixture.ts';

// Answers with the env it sees; prints nothing of it, as a careful app would.
const APP_SOURCE = `
const http = require('node:http');
const port = Number(process.env.PORT);
http.createServer((req, res) => {
  if (req.url === '/crash') process.exit(3);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, release: process.env.RELEASE,
    password: process.env.DB_PASSWORD, apiKey: process.env.API_KEY,
    databaseUrl: process.env.DATABASE_URL }));
}).listen(port, '127.0.0.1', () => console.log('listening on ' + port));
`;

const CUTOVER_YAML = `app: shop
start: exec "${process.execPath}" server.js
env:
  RELEASE: v1
  DB_PASSWORD: { fromEnv: SHOP_DB_PASSWORD }
  API_KEY: { fromFile: secrets/api-key }
database:
  url: { fromEnv: SHOP_DATABASE_URL }
`;

interface AppReply {
  readonly pid: number;
  readonly release: string;
  readonly password?: string;
  readonly apiKey?: string;
  readonly databaseUrl?: string;
}

interface Fixture {
  readonly dataDir: string;
  readonly releaseDir: string;
  readonly secrets: { readonly password: string; readonly apiKey: string; readonly url: string };
  /** The daemon's environment: where the `fromEnv` secrets are. */
  readonly environment: NodeJS.ProcessEnv;
  readonly events: InstanceEvent[];
  readonly pids: Set<number>;
  runtime(options?: Partial<ProcessRuntimeOptions>): ProcessRuntime;
  /** What the start step hands the runtime: resolved env and, beside it, its sources. */
  startSpec(): Promise<ProcessStartSpec>;
}

function get(address: string, path: string): Promise<string> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function answer(instance: InstanceSpec, notPid?: number): Promise<AppReply> {
  return waitFor(`${instance.id} to answer`, async () => {
    try {
      const reply = JSON.parse(await get(instance.address, '/')) as AppReply;
      return reply.pid === notPid ? undefined : reply;
    } catch {
      return undefined;
    }
  });
}

/** Every file under `dir`, recursively, with its bytes as text. */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path, await readFile(path, 'latin1'));
  }
  return out;
}

async function assertNoSecretAtRest(fx: Fixture): Promise<void> {
  const files = await filesUnder(fx.dataDir);
  assert.ok(
    [...files.keys()].some((path) => path.endsWith('shop-blue-1.json')),
    'the record is there',
  );
  assert.ok(
    [...files.keys()].some((path) => path.endsWith('shop-blue-1.log')),
    'the log is there',
  );
  for (const [path, text] of files) {
    for (const [name, secret] of Object.entries(fx.secrets)) {
      assert.equal(text.includes(secret), false, `${path} holds the ${name} secret`);
    }
  }
}

async function readRecord(fx: Fixture): Promise<Record<string, unknown>> {
  const path = join(fx.dataDir, 'instances', 'shop', 'shop-blue-1.json');
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

function assertSecretsSeen(fx: Fixture, reply: AppReply): void {
  assert.deepEqual(
    {
      release: reply.release,
      password: reply.password,
      apiKey: reply.apiKey,
      url: reply.databaseUrl,
    },
    { release: 'v1', ...fx.secrets },
  );
}

async function setUp(t: TestContext): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'cutover-secrets-'));
  const dataDir = join(root, 'data');
  const releaseDir = join(root, 'release');
  await mkdir(join(releaseDir, 'secrets'), { recursive: true });
  await writeFile(join(releaseDir, 'server.js'), APP_SOURCE);
  const token = randomBytes(8).toString('hex');
  const secrets = {
    password: `env-secret-${token}`,
    apiKey: `file-secret-${token}`,
    url: `postgres://shop:db-secret-${token}@127.0.0.1:5432/shop`,
  };
  await writeFile(join(releaseDir, 'secrets', 'api-key'), `${secrets.apiKey}\n`);
  const environment: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SHOP_DB_PASSWORD: secrets.password,
    SHOP_DATABASE_URL: secrets.url,
  };
  const config = parseAppConfigText(CUTOVER_YAML);
  const events: InstanceEvent[] = [];
  const pids = new Set<number>();
  const runtimes: ProcessRuntime[] = [];
  t.after(async () => {
    for (const runtime of runtimes) await runtime.close();
    const leftovers: number[] = [];
    for (const pid of pids) if (await isAlive(pid)) leftovers.push(pid);
    for (const pid of leftovers) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(root, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'no instance process is left behind');
  });
  return {
    dataDir,
    releaseDir,
    secrets,
    environment,
    events,
    pids,
    runtime(options = {}) {
      const runtime = createProcessRuntime({
        stateDir: join(dataDir, 'instances'),
        adoptedPollMs: 50,
        backoff: { baseDelayMs: 50, maxDelayMs: 200 },
        baseEnv: environment,
        onInstanceEvent: (event) => {
          events.push(event);
          if ('pid' in event) pids.add(event.pid);
        },
        ...options,
      });
      runtimes.push(runtime);
      return runtime;
    },
    // As the start step does it: the env resolved now, the database URL under its var.
    async startSpec() {
      const env = await resolveAppEnv(config.env, { releaseDir, environment });
      const database = config.database;
      assert.ok(database !== null);
      const url = await resolveAppEnv(
        { [database.env]: database.url },
        { releaseDir, environment },
      );
      return {
        ...toProcessStartSpec(config, releaseDir, { ...env, ...url }),
        envSources: appEnvSources(config, releaseDir),
      };
    },
  };
}

async function startOne(fx: Fixture, runtime: ProcessRuntime): Promise<InstanceSpec> {
  const [instance] = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    process: await fx.startSpec(),
  });
  assert.ok(instance !== undefined);
  return instance;
}

async function crashAndWait(
  fx: Fixture,
  instance: InstanceSpec,
  type: 'InstanceRestarted' | 'InstanceRestartFailed',
): Promise<InstanceEvent> {
  const before = fx.events.length;
  await get(instance.address, '/crash').catch(() => undefined);
  return waitFor(`${type} after the crash`, () =>
    fx.events.slice(before).find((event) => event.type === type),
  );
}

void test('records hold references, and a re-created runtime restarts a crashed instance with the secrets again', async (t) => {
  const fx = await setUp(t);
  const first = fx.runtime();
  const instance = await startOne(fx, first);
  const started = await answer(instance);
  fx.pids.add(started.pid);
  assertSecretsSeen(fx, started);
  assert.deepEqual((await readRecord(fx))['envSources'], {
    RELEASE: { kind: 'value', value: 'v1' },
    DB_PASSWORD: { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' },
    API_KEY: { kind: 'fromFile', path: join(fx.releaseDir, 'secrets', 'api-key') },
    DATABASE_URL: { kind: 'fromEnv', name: 'SHOP_DATABASE_URL' },
  });
  await assertNoSecretAtRest(fx);

  // A crash while this runtime lives: restarted with the values it was started with.
  const own = await crashAndWait(fx, instance, 'InstanceRestarted');
  assert.ok(own.type === 'InstanceRestarted');
  assertSecretsSeen(fx, await answer(instance, started.pid));

  // The daemon restarts: the new runtime knows the instance from its record alone.
  await first.close();
  const second = fx.runtime();
  const adopted = await second.adopt('shop');
  assert.deepEqual(
    adopted.map((each) => each.instance),
    [instance],
  );
  const restarted = await crashAndWait(fx, instance, 'InstanceRestarted');
  assert.ok(restarted.type === 'InstanceRestarted');
  const again = await answer(instance, own.pid);
  assert.equal(again.pid, restarted.pid);
  assertSecretsSeen(fx, again);
  await assertNoSecretAtRest(fx);

  await second.stop('shop', [instance]);
  assert.equal(await isAlive(restarted.pid), false);
});

void test('a restart after adoption whose secrets cannot be read is reported failed with the error code, and nothing starts', async (t) => {
  const fx = await setUp(t);
  const first = fx.runtime();
  const instance = await startOne(fx, first);
  const started = await answer(instance);
  fx.pids.add(started.pid);
  await first.close();

  // The new daemon runs without the var, and the secret file is gone.
  await rm(join(fx.releaseDir, 'secrets', 'api-key'));
  // Retries come slowly enough to look at the instance between them.
  const second = fx.runtime({
    baseEnv: { PATH: process.env.PATH },
    backoff: { baseDelayMs: 300, maxDelayMs: 5_000 },
  });
  assert.equal((await second.adopt('shop')).length, 1);
  const failed = await crashAndWait(fx, instance, 'InstanceRestartFailed');
  assert.ok(failed.type === 'InstanceRestartFailed');
  assert.match(failed.reason, /^CUTOVER_ERR_CONFIG_INVALID: /);
  assert.match(failed.reason, /env\.DB_PASSWORD: \$SHOP_DB_PASSWORD is not set/);
  assert.match(failed.reason, /env\.API_KEY: cannot read .*secrets\/api-key \(ENOENT\)/);
  assert.match(failed.reason, /env\.DATABASE_URL: \$SHOP_DATABASE_URL is not set/);
  for (const secret of Object.values(fx.secrets))
    assert.equal(failed.reason.includes(secret), false);
  assert.equal(second.pidOf('shop', instance.id), null, 'not running');
  await assert.rejects(get(instance.address, '/'), 'nothing listens on its port');
  assert.equal(
    fx.events.some((event) => event.type === 'InstanceRestarted'),
    false,
    'never started with a var missing',
  );

  // Stopping it still works from the record, and removes it.
  await second.stop('shop', [instance]);
  assert.deepEqual(await readdir(join(fx.dataDir, 'instances', 'shop')), ['shop-blue-1.log']);
});

void test('an instance recorded with resolved env by the previous version is adopted, restarted and stopped, its record rewritten without the env', async (t) => {
  const fx = await setUp(t);
  const first = fx.runtime();
  const instance = await startOne(fx, first);
  const started = await answer(instance);
  fx.pids.add(started.pid);
  await first.close();

  // The record as the previous version wrote it: the resolved env, no sources.
  const { envSources: _sources, ...rest } = await readRecord(fx);
  const spec = await fx.startSpec();
  await writeFile(
    join(fx.dataDir, 'instances', 'shop', 'shop-blue-1.json'),
    JSON.stringify({ ...rest, env: spec.env }),
  );

  // Its values are all this runtime has: it needs no var of its own to restart it.
  const second = fx.runtime({ baseEnv: { PATH: process.env.PATH } });
  assert.deepEqual(
    (await second.adopt('shop')).map((each) => each.pid),
    [started.pid],
  );
  const restarted = await crashAndWait(fx, instance, 'InstanceRestarted');
  assert.ok(restarted.type === 'InstanceRestarted');
  assertSecretsSeen(fx, await answer(instance, started.pid));
  const rewritten = await readRecord(fx);
  assert.equal('env' in rewritten, false, 'the old field is gone');
  assert.equal(rewritten['pid'], restarted.pid);
  assert.deepEqual(Object.keys(rewritten['envSources'] as object).sort(), [
    'API_KEY',
    'DATABASE_URL',
    'DB_PASSWORD',
    'RELEASE',
  ]);

  await second.stop('shop', [instance]);
  assert.equal(await isAlive(restarted.pid), false);
  assert.deepEqual(await readdir(join(fx.dataDir, 'instances', 'shop')), ['shop-blue-1.log']);
});

void test('a record keeps literals as the instance got them and makes a relative file reference absolute', async (t) => {
  const fx = await setUp(t);
  const runtime = fx.runtime();
  const spec = await fx.startSpec();
  const [instance] = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    process: {
      ...spec,
      env: { ...spec.env, EXTRA: 'plain' },
      envSources: {
        ...spec.envSources,
        RELEASE: { kind: 'value', value: 'not what the instance got' },
        API_KEY: { kind: 'fromFile', path: 'secrets/api-key' },
      },
    },
  });
  assert.ok(instance !== undefined);
  fx.pids.add((await answer(instance)).pid);
  assert.deepEqual((await readRecord(fx))['envSources'], {
    RELEASE: { kind: 'value', value: 'v1' },
    DB_PASSWORD: { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' },
    API_KEY: { kind: 'fromFile', path: join(fx.releaseDir, 'secrets', 'api-key') },
    DATABASE_URL: { kind: 'fromEnv', name: 'SHOP_DATABASE_URL' },
    EXTRA: { kind: 'value', value: 'plain' },
  });
  await runtime.stop('shop', [instance]);
});

// Through the daemon: the shop's cutover.yaml with this app as its start command.
const DAEMON_APP_SOURCE = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/crash') process.exit(3);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'shop', version: process.env.SHOP_VERSION, pid: process.pid,
    release: 'v1', password: process.env.DB_PASSWORD, apiKey: process.env.API_KEY }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

void test('a release deployed by the daemon keeps its secrets out of its records, the state file, its WAL, drift and logs, and gets them again after a kill -9 and a crash', async (t) => {
  const token = randomBytes(8).toString('hex');
  const secrets = { password: `env-secret-${token}`, apiKey: `file-secret-${token}` };
  const fx = await startPipelineDaemon({ env: { SHOP_DB_PASSWORD: secrets.password } });
  t.after(() => fx.close());
  const v1 = await fx.release('v1', {
    instances: 1,
    env: { DB_PASSWORD: { fromEnv: 'SHOP_DB_PASSWORD' }, API_KEY: { fromFile: 'api-key' } },
    config: { start: `"${process.execPath}" app.js` },
    files: { 'app.js': DAEMON_APP_SOURCE, 'api-key': `${secrets.apiKey}\n` },
  });
  const ended = await fx.deployAndWait(v1);
  assert.equal(ended.outcome, 'succeeded', ended.reason ?? '');
  const [record] = await fx.records();
  assert.ok(record !== undefined);
  const instance = { id: record.id, address: `127.0.0.1:${record.port}` };
  const first = await answer(instance);
  assert.deepEqual({ password: first.password, apiKey: first.apiKey }, secrets);

  const assertNoSecretAtRest = async (): Promise<void> => {
    const files = await filesUnder(fx.dataDir);
    const names = [...files.keys()].map((path) => path.slice(fx.dataDir.length));
    for (const expected of [/^\/state\.db/, /-wal$/, /^\/drift\//, /\.log$/]) {
      assert.ok(
        names.some((name) => expected.test(name)),
        `a file like ${expected} in ${names.join(', ')}`,
      );
    }
    for (const [path, text] of files) {
      for (const [name, secret] of Object.entries(secrets)) {
        assert.equal(text.includes(secret), false, `${path} holds the ${name} secret`);
      }
    }
  };
  await assertNoSecretAtRest();

  await fx.restart('SIGKILL');
  await waitFor('the adoption', async () =>
    (await fx.history()).some((event) => event.type === 'instance-adopted') ? true : undefined,
  );
  await get(instance.address, '/crash').catch(() => undefined);
  const again = await answer(instance, first.pid);
  assert.deepEqual({ password: again.password, apiKey: again.apiKey }, secrets);
  assert.ok((await fx.history()).some((event) => event.type === 'instance-restarted'));
  await assertNoSecretAtRest();
});
