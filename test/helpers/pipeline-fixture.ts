// The deployment pipeline against a real daemon and real shop instances: per-test releases
// (cutover.yaml with short windows, starting examples/shop/app/server.js), deployments followed
// to their end, instance records and pids, a bounded keep-alive load and the event stream.
// Instances outlive the daemon by design, so `close()` kills what the records still list.
//
//   const fx = await startPipelineDaemon();
//   const v1 = await fx.deployAndWait(await fx.release('v1'));
//   await fx.close();
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { readProcessStat } from '../../src/adapters/runtime/process/proc-stat.ts';
import type {
  AppStatus,
  DeploymentView,
  HistoryEntry,
  HistoryResponse,
} from '../../src/client/api-types.ts';
import { startTestDaemon, type AdminReply, type TestDaemon } from './daemon.ts';

export const SHOP_SERVER = fileURLToPath(
  new URL('../../examples/shop/app/server.js', import.meta.url),
);
const WAIT_MS = 30_000;
const POLL_MS = 25;

type Yaml = Record<string, unknown>;

/** Options of one test release of the shop app; `config` is merged into the default file. */
export interface ShopReleaseOptions {
  readonly instances?: number;
  readonly env?: Readonly<Record<string, unknown>>;
  /** Top-level keys, merged one level deep into the defaults (`switch: { probeWindow }`). */
  readonly config?: Readonly<Yaml>;
  /** Extra files written into the release directory. */
  readonly files?: Readonly<Record<string, string>>;
}

export interface ShopRelease {
  /** The app it is for (`shop` unless `config.app` says otherwise). */
  readonly app: string;
  readonly release: string;
  readonly dir: string;
  readonly config: string;
}

/** The shop's cutover.yaml for `version`, with windows short enough for tests. */
export function shopConfig(version: string, options: ShopReleaseOptions = {}): Yaml {
  const defaults: Yaml = {
    app: 'shop',
    start: `node ${SHOP_SERVER}`,
    instances: options.instances ?? 2,
    env: { SHOP_VERSION: version, SHOP_FAULT: 'none', ...options.env },
    stop: { signal: 'SIGTERM', timeout: '2s' },
    health: {
      path: '/healthz',
      interval: '50ms',
      timeout: '1s',
      rise: 1,
      fall: 2,
      startTimeout: '10s',
    },
    smoke: [{ path: '/', status: 200, json: { app: 'shop', version } }],
    warmup: { requests: 4, paths: ['/'], concurrency: 2 },
    switch: {
      drainTimeout: '2s',
      websocketGrace: '0ms',
      probeWindow: '500ms',
      probeInterval: '50ms',
      probePaths: ['/'],
      failureThreshold: 0,
      autoRollback: true,
    },
    standby: { rollbackWindow: '10m', after: 'keep' },
    rto: '1s',
    // The SHOP_ vars set one test release apart from another; anything else is drift.
    drift: { expect: ['env.SHOP_*'] },
  };
  const merged: Yaml = { ...defaults };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const base = defaults[key];
    merged[key] = isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Yaml {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface InstanceRecordView {
  readonly id: string;
  readonly release: string;
  readonly color: string | null;
  readonly pid: number;
  readonly pgid: number;
  readonly port: number;
  readonly startTimeTicks: string;
  readonly logPath: string;
}

/** Alive and not a zombie (an orphaned app is reparented to an init that reaps slowly). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readProcessStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await delay(POLL_MS);
  }
}

export function errorCode(reply: AdminReply): string | undefined {
  return reply.json<{ error?: { code: string } }>().error?.code;
}

export interface PipelineDaemon {
  /** The daemon now (a new one after `restart`). */
  readonly daemon: TestDaemon;
  readonly dataDir: string;
  /** Writes a release directory with its cutover.yaml under this fixture's temp dir. */
  release(version: string, options?: ShopReleaseOptions): Promise<ShopRelease>;
  /** POST /v1/apps/shop/deployments; asserts 202. */
  start(release: ShopRelease, instances?: readonly string[]): Promise<DeploymentView>;
  view(id: string): Promise<DeploymentView>;
  waitEnded(id: string, timeoutMs?: number): Promise<DeploymentView>;
  waitStep(id: string, step: string): Promise<DeploymentView>;
  deployAndWait(
    release: ShopRelease,
    instances?: readonly string[],
    timeoutMs?: number,
  ): Promise<DeploymentView>;
  app(): Promise<AppStatus>;
  history(): Promise<readonly HistoryEntry[]>;
  /** The app's instance records under `<data-dir>/instances/<app>/` (default shop). */
  records(app?: string): Promise<readonly InstanceRecordView[]>;
  /** The `version` field of GET / on the public listener (null when not JSON). */
  publicVersion(): Promise<string | null>;
  /** Ends the daemon (kill -9 or SIGTERM) and starts a new one on the same data dir and ports. */
  restart(how: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  close(): Promise<void>;
}

export interface StartPipelineDaemonOptions {
  readonly env?: Readonly<Record<string, string>>;
}

export async function startPipelineDaemon(
  options: StartPipelineDaemonOptions = {},
): Promise<PipelineDaemon> {
  const root = await mkdtemp(join(tmpdir(), 'cutover-pipeline-'));
  const dataDir = join(root, 'data');
  const releasesDir = join(root, 'releases');
  await mkdir(dataDir);
  await mkdir(releasesDir);
  let daemon: TestDaemon;
  try {
    daemon = await startTestDaemon({
      dataDir,
      removeDataDirOnStop: false,
      ...(options.env === undefined ? {} : { env: options.env }),
    });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  /** The instance records of `app` under `<data-dir>/instances/<app>/`. */
  async function records(app = 'shop'): Promise<readonly InstanceRecordView[]> {
    const dir = join(dataDir, 'instances', app);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: InstanceRecordView[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        out.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as InstanceRecordView);
      } catch {
        // Removed between readdir and read.
      }
    }
    return out;
  }

  async function view(id: string): Promise<DeploymentView> {
    const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
    assert.equal(reply.status, 200, reply.body);
    return reply.json<DeploymentView>();
  }

  const fixture: PipelineDaemon = {
    get daemon() {
      return daemon;
    },
    dataDir,
    async release(version, releaseOptions = {}) {
      const dir = await mkdtemp(join(releasesDir, `${version}-`));
      const yaml = shopConfig(version, releaseOptions);
      const config = stringify(yaml);
      await writeFile(join(dir, 'cutover.yaml'), config);
      for (const [name, text] of Object.entries(releaseOptions.files ?? {})) {
        await writeFile(join(dir, name), text);
      }
      return { app: String(yaml['app']), release: version, dir, config };
    },
    async start(release, instances) {
      const reply = await daemon.admin('POST', `/v1/apps/${release.app}/deployments`, {
        body: {
          release: release.release,
          dir: release.dir,
          config: release.config,
          ...(instances === undefined ? {} : { instances }),
        },
      });
      assert.equal(reply.status, 202, reply.body);
      return reply.json<DeploymentView>();
    },
    view,
    waitEnded: (id, timeoutMs = WAIT_MS) =>
      waitFor(
        `deployment ${id} to end`,
        async () => {
          const current = await view(id);
          return current.ended ? current : undefined;
        },
        timeoutMs,
      ),
    waitStep: (id, step) =>
      waitFor(`deployment ${id} to reach ${step}`, async () => {
        const current = await view(id);
        if (current.ended && current.step !== step) {
          throw new Error(
            `deployment ${id} ended ${current.step} before ${step}: ${current.reason}`,
          );
        }
        return current.step === step ? current : undefined;
      }),
    async deployAndWait(release, instances, timeoutMs) {
      const started = await fixture.start(release, instances);
      return fixture.waitEnded(started.id, timeoutMs);
    },
    async app() {
      const reply = await daemon.admin('GET', '/v1/apps/shop');
      assert.equal(reply.status, 200, reply.body);
      return reply.json<AppStatus>();
    },
    async history() {
      const reply = await daemon.admin('GET', '/v1/history?app=shop&limit=1000');
      assert.equal(reply.status, 200, reply.body);
      return reply.json<HistoryResponse>().events;
    },
    records,
    async publicVersion() {
      const reply = await daemon.get('public', '/');
      try {
        return reply.json<{ version?: string }>().version ?? null;
      } catch {
        return null;
      }
    },
    async restart(how) {
      if (how === 'SIGKILL') await daemon.kill9();
      else await daemon.signal('SIGTERM');
      daemon = await daemon.restart({
        removeDataDirOnStop: false,
        ...(options.env === undefined ? {} : { env: options.env }),
      });
    },
    async close() {
      const { child } = daemon;
      if (child.exitCode !== null || child.signalCode !== null) {
        // It died before the test ended: its last words explain the test's failure.
        process.stderr.write(
          `cutover daemon exited early (code ${child.exitCode}, signal ${child.signalCode}):\n${daemon.stderr().slice(-4000)}\n`,
        );
      }
      await daemon.stop();
      // The instances are detached and survive the daemon: stop what is still recorded.
      const apps = await readdir(join(dataDir, 'instances')).catch(() => [] as string[]);
      const left = (await Promise.all(apps.map((app) => records(app)))).flat();
      for (const record of left) {
        const stat = await readProcessStat(record.pid);
        if (stat === null || stat.startTimeTicks !== record.startTimeTicks) continue;
        try {
          process.kill(-record.pgid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The pids the history says were started (or restarted) for the instances of `color`. */
export function startedPids(events: readonly HistoryEntry[], color: string): readonly number[] {
  return events
    .filter((event) => event.type === 'instance-started' || event.type === 'instance-restarted')
    .filter((event) => String(event.data['id']).startsWith(`shop-${color}-`))
    .map((event) => Number(event.data['pid']));
}

export interface LoadSample {
  readonly sentAtMs: number;
  readonly doneAtMs: number;
  readonly status: number | null;
  readonly version: string | null;
  readonly error: string | null;
}

export interface Load {
  /** Stops the clients after their request in flight; resolves with every sample. */
  stop(): Promise<readonly LoadSample[]>;
}

/**
 * `clients` keep-alive clients sending GET `path` back to back (a short pause between two), each
 * bounded by `maxMs` and `maxRequests`; every answer's JSON `version` is kept.
 */
export function startLoad(
  target: { readonly host: string; readonly port: number },
  options: { clients?: number; maxMs?: number; maxRequests?: number; path?: string } = {},
): Load {
  const clients = options.clients ?? 4;
  const maxMs = options.maxMs ?? 10_000;
  const maxRequests = options.maxRequests ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const samples: LoadSample[] = [];
  const startedMs = Date.now();
  let stopped = false;
  const one = (): Promise<LoadSample> =>
    new Promise((resolve) => {
      const sentAtMs = Date.now();
      const req = request(
        { host: target.host, port: target.port, path: options.path ?? '/', agent, timeout: 10_000 },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) =>
            resolve({
              sentAtMs,
              doneAtMs: Date.now(),
              status: null,
              version: null,
              error: error.message,
            }),
          );
          res.on('end', () => {
            let version: string | null = null;
            try {
              version =
                (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: string })
                  .version ?? null;
            } catch {
              // Not JSON: counted by its status.
            }
            resolve({
              sentAtMs,
              doneAtMs: Date.now(),
              status: res.statusCode ?? null,
              version,
              error: null,
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (error) =>
        resolve({
          sentAtMs,
          doneAtMs: Date.now(),
          status: null,
          version: null,
          error: error.message,
        }),
      );
      req.end();
    });
  const loop = async (): Promise<void> => {
    while (!stopped && samples.length < maxRequests && Date.now() - startedMs < maxMs) {
      samples.push(await one());
      await delay(2);
    }
  };
  const loops = Array.from({ length: clients }, () => loop());
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return samples;
    },
  };
}

export interface EventStream {
  readonly events: readonly { readonly type: string; readonly data: HistoryEntry }[];
  close(): void;
}

/** Follows GET /v1/events (server-sent events) on the admin socket until closed. */
export async function openEventStream(socketPath: string, query = ''): Promise<EventStream> {
  const events: { type: string; data: HistoryEntry }[] = [];
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath, path: `/v1/events${query}`, method: 'GET' }, resolve);
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let type = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice('event: '.length);
        if (line.startsWith('data: ')) data += line.slice('data: '.length);
      }
      if (data !== '') events.push({ type, data: JSON.parse(data) as HistoryEntry });
    }
  });
  res.on('error', () => undefined);
  return { events, close: () => res.destroy() };
}
