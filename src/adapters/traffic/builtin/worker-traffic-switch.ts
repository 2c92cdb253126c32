// The built-in data plane on every core: N worker threads, each with its own listeners on the
// same ports (SO_REUSEPORT) and its own Router. A flip is two-phase: every worker gets the table
// (prepare), then every worker swaps it (commit); `apply` resolves once all acknowledged, so a
// request that starts after it resolves sees the new table on whichever worker accepts it.
// A worker that dies is replaced, starting from the last committed table before it listens.
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { CutoverError } from '../../../core/errors.ts';
import type { RoutingTable } from '../../../core/routing-table.ts';
import { EMPTY_ROUTING_TABLE } from '../../../core/routing-table.ts';
import type { Address, Color } from '../../../core/types.ts';
import { LATENCY_BUCKETS_MS } from '../../../core/types.ts';
import type {
  ApplyReport,
  ColorTraffic,
  DrainOptions,
  DrainReport,
  TrafficSnapshot,
  TrafficSwitch,
} from '../../../ports/traffic-switch.ts';
import type { RouterHostOptions } from '../../../router/router-host.ts';
import type { AppTraffic } from '../../../router/router.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from '../../../router/worker-protocol.ts';

const WORKER_ENTRY = new URL('../../../router/router-worker.ts', import.meta.url);
/** Beyond the close deadline, how long a worker gets before it is terminated. */
const WORKER_EXIT_GRACE_MS = 500;

/** Structurally the same as BuiltinTrafficSwitch (kept apart to avoid an import cycle). */
export interface WorkerTrafficSwitch extends TrafficSwitch {
  readonly publicAddress: { host: string; port: number };
  readonly previewAddress: { host: string; port: number };
}

type Pending = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };
type Request = WorkerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never;

/**
 * A process started with `--input-type` (node -e scripts) would pass it on to its workers, and a
 * worker loaded from a file refuses it. Otherwise the inherited flags stay as node sets them.
 */
function workerExecArgv(): { execArgv?: string[] } {
  const inherited = process.execArgv;
  if (!inherited.some((arg) => arg.startsWith('--input-type'))) return {};
  return { execArgv: inherited.filter((arg) => !arg.startsWith('--input-type')) };
}

class RouterWorker {
  readonly worker: Worker;
  readonly ready: Promise<Extract<WorkerReply, { type: 'ready' }>>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  exited = false;

  constructor(host: RouterHostOptions, onExit: (worker: RouterWorker, code: number) => void) {
    const data: WorkerData = { host };
    this.worker = new Worker(WORKER_ENTRY, {
      workerData: data,
      ...workerExecArgv(),
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') resolve(reply);
        else if (reply.type === 'failed') reject(new Error(reply.message));
        else this.settle(reply);
      });
      this.worker.on('error', reject);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      for (const pending of this.pending.values())
        pending.reject(new Error('router worker exited'));
      this.pending.clear();
      onExit(this, code);
    });
  }

  call(request: Request): Promise<WorkerReply> {
    if (this.exited) return Promise.reject(new Error('router worker exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }

  post(request: Request): void {
    if (!this.exited) this.worker.postMessage({ ...request, id: this.nextId++ });
  }

  private settle(reply: WorkerReply): void {
    if (!('id' in reply)) return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (reply.type === 'error') pending.reject(new Error(reply.message));
    else pending.resolve(reply);
  }
}

/** The replies of the workers that answered. */
async function settled(calls: Promise<WorkerReply>[]): Promise<WorkerReply[]> {
  const results = await Promise.allSettled(calls);
  return results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
}

const NO_TRAFFIC: ColorTraffic = {
  inflight: 0,
  websockets: 0,
  requests: 0,
  failed: 0,
  serverErrors: 0,
  latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
  latencySumMs: 0,
  mirrored: 0,
  mirrorDropped: 0,
};

/** Latency counts added bucket by bucket (a worker without them counts as zeros). */
function addLatency(a: readonly number[] = [], b: readonly number[] = []): number[] {
  const sum: number[] = [];
  for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) sum.push((a[i] ?? 0) + (b[i] ?? 0));
  return sum;
}

function addTraffic(into: Record<string, Record<Color, ColorTraffic>>, apps: AppTraffic): void {
  for (const [app, colors] of Object.entries(apps)) {
    const sum = (into[app] ??= { blue: NO_TRAFFIC, green: NO_TRAFFIC });
    for (const color of ['blue', 'green'] as const) {
      const a = sum[color];
      const b = colors[color];
      sum[color] = {
        inflight: a.inflight + b.inflight,
        websockets: a.websockets + b.websockets,
        requests: a.requests + b.requests,
        failed: a.failed + b.failed,
        serverErrors: a.serverErrors + b.serverErrors,
        latency: addLatency(a.latency, b.latency),
        latencySumMs: (a.latencySumMs ?? 0) + (b.latencySumMs ?? 0),
        mirrored: (a.mirrored ?? 0) + (b.mirrored ?? 0),
        mirrorDropped: (a.mirrorDropped ?? 0) + (b.mirrorDropped ?? 0),
      };
    }
  }
}

/**
 * Binds a fixed port once, exclusively, and lets it go. Workers share their ports with
 * SO_REUSEPORT, and Linux would let them join a socket another process of the same user holds
 * with SO_REUSEPORT too (splitting its connections silently); this finds a port in use first.
 */
function assertPortFree(address: { host: string; port: number }): Promise<void> {
  if (address.port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: address.host, port: address.port, exclusive: true }, () =>
      probe.close(() => resolve()),
    );
  });
}

export async function createWorkerTrafficSwitch(
  host: RouterHostOptions,
  workerCount: number,
  logger?: Logger,
): Promise<WorkerTrafficSwitch> {
  let committed: RoutingTable = host.table ?? EMPTY_ROUTING_TABLE;
  let closing = false;
  let applying: Promise<unknown> = Promise.resolve();
  const workers = new Set<RouterWorker>();
  /** Every active health result so far, for replacement workers. */
  const health = new Map<Address, boolean>();
  let bound: RouterHostOptions = { ...host, reusePort: true };

  let spawned = 0;
  function spawn(): RouterWorker {
    // Each worker draws its own split sequence from a seed of its own.
    const seed = bound.splitSeed === undefined ? {} : { splitSeed: bound.splitSeed + spawned };
    spawned++;
    const worker = new RouterWorker({ ...bound, ...seed, table: committed }, (dead, code) => {
      workers.delete(dead);
      if (closing) return;
      logger?.error({ code }, 'router worker exited; starting a replacement');
      const replacement = spawn();
      replacement.ready.then(
        () => replacement.post({ type: 'health', health }),
        (error: Error) =>
          logger?.error({ err: error }, 'replacement router worker failed to start'),
      );
    });
    workers.add(worker);
    return worker;
  }

  await assertPortFree(host.public);
  await assertPortFree(host.preview);
  // The first worker binds (port 0 picks a port); the others join it on the same ports.
  const first = spawn();
  const ready = await first.ready;
  bound = {
    ...bound,
    public: { host: host.public.host, port: ready.public.port },
    preview: { host: host.preview.host, port: ready.preview.port },
  };
  const rest = Array.from({ length: workerCount - 1 }, () => spawn());
  try {
    await Promise.all(rest.map((worker) => worker.ready));
  } catch (error) {
    closing = true;
    await Promise.all([...workers].map((worker) => worker.worker.terminate()));
    throw error;
  }

  async function twoPhaseApply(table: RoutingTable): Promise<ApplyReport> {
    const started = performance.now();
    if (table.generation < committed.generation) {
      return { generation: committed.generation, durationMs: 0, workers: workers.size };
    }
    const targets = [...workers];
    try {
      await Promise.all(targets.map((worker) => worker.call({ type: 'prepare', table })));
      // From here a replacement worker starts from this table too.
      committed = table;
      await Promise.all(
        targets.map((worker) =>
          worker.call({ type: 'commit', generation: table.generation }).catch((error: Error) => {
            // A worker that died mid-flip is replaced from the committed table; others must not wait.
            if (!worker.exited) throw error;
          }),
        ),
      );
    } catch (error) {
      throw new CutoverError(
        'CUTOVER_ERR_FLIP_FAILED',
        `The router workers did not take the routing table: ${(error as Error).message}`,
      );
    }
    return {
      generation: table.generation,
      durationMs: performance.now() - started,
      workers: targets.length,
    };
  }

  async function drain(app: string, color: Color, options: DrainOptions): Promise<DrainReport> {
    // A worker that dies meanwhile took its connections with it: the others still report.
    const replies = await settled(
      [...workers].map((worker) => worker.call({ type: 'drain', app, color, options })),
    );
    let report: DrainReport = {
      app,
      color,
      completed: 0,
      aborted: 0,
      websocketsClosed: 0,
      durationMs: 0,
      cancelled: false,
    };
    for (const reply of replies) {
      if (reply.type !== 'drained') continue;
      const r = reply.report;
      report = {
        ...report,
        completed: report.completed + r.completed,
        aborted: report.aborted + r.aborted,
        websocketsClosed: report.websocketsClosed + r.websocketsClosed,
        durationMs: Math.max(report.durationMs, r.durationMs),
        cancelled: report.cancelled || r.cancelled,
      };
    }
    return report;
  }

  async function describe(): Promise<TrafficSnapshot> {
    const replies = await settled([...workers].map((worker) => worker.call({ type: 'describe' })));
    const apps: Record<string, Record<Color, ColorTraffic>> = {};
    for (const reply of replies) if (reply.type === 'traffic') addTraffic(apps, reply.apps);
    return { generation: committed.generation, workers: replies.length, apps };
  }

  let closed: Promise<void> | null = null;
  async function close(deadlineMs: number): Promise<void> {
    closing = true;
    await applying.catch(() => {});
    const all = [...workers];
    const timeout = new Promise<void>((resolve) =>
      setTimeout(resolve, deadlineMs + WORKER_EXIT_GRACE_MS).unref(),
    );
    await Promise.race([
      Promise.all(all.map((worker) => worker.call({ type: 'close', deadlineMs }).catch(() => {}))),
      timeout,
    ]);
    await Promise.all(all.map((worker) => worker.worker.terminate()));
  }

  return {
    publicAddress: bound.public,
    previewAddress: bound.preview,
    apply(table: RoutingTable): Promise<ApplyReport> {
      // Flips are serialized: a prepare never interleaves with another flip's commit.
      const next = applying.then(() => twoPhaseApply(table));
      applying = next.catch(() => {});
      return next;
    },
    drain,
    setUpstreamHealth(results: ReadonlyMap<Address, boolean>): void {
      for (const [address, up] of results) health.set(address, up);
      for (const worker of workers) worker.post({ type: 'health', health: results });
    },
    describe,
    close(deadlineMs?: number): Promise<void> {
      closed ??= close(deadlineMs ?? 10_000);
      return closed;
    },
  };
}
