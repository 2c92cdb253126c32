// `cutover demo`, the whole story: a real daemon (child process, port-0 listeners, temporary data
// dir), four instances of the hello example app, deploy v1, deploy v2 under load, roll back and
// forth under load, then a report of requests served, failed (must be 0) and flip times. It stops
// everything it started, also when interrupted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdminClient } from '../../client/admin-client.ts';
import type { AdminClient } from '../../client/admin-client.ts';
import type { DeployResponse } from '../../client/api-types.ts';
import { interrupted, startDemoDaemon, startHelloInstance } from './demo-processes.ts';
import type { ChildHandle, InstanceHandle } from './demo-processes.ts';
import { startLoad } from './demo-load.ts';
import type { Load, LoadResult } from './demo-load.ts';
import { demoPassed, durationStats } from './demo-report.ts';
import type { DemoDeploy, DemoReport } from './demo-report.ts';

export const DEMO_APP = 'hello';

export interface DemoOptions {
  /** Rollbacks under load after v2 is live. */
  readonly flips: number;
  /** The load runs at least until this many requests were sent (bounded by `maxDurationMs`). */
  readonly minRequests: number;
  readonly maxRequests: number;
  readonly maxDurationMs: number;
  readonly concurrency: number;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  flips: 10,
  minRequests: 3_000,
  maxRequests: 200_000,
  maxDurationMs: 60_000,
  concurrency: 8,
};

/** Fast health checks so the demo's deploys take a fraction of a second, not the 2 s default. */
const DEMO_HEALTH = { path: '/healthz', intervalMs: 100, timeoutMs: 1_000, rise: 2, fall: 2 };
const DEMO_HEALTH_TIMEOUT_MS = 15_000;
/** Time between flips, so each color serves a share of the load. */
const FLIP_GAP_MS = 150;
/** Load before the first flip, so the deploy of v2 really happens under traffic. */
const LOAD_LEAD_MS = 300;
const LOAD_POLL_MS = 50;

export type Progress = (line: string) => void;

export async function runDemo(
  options: DemoOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<DemoReport> {
  const startedAt = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-demo-'));
  const children: ChildHandle[] = [];
  let load: Load | undefined;
  try {
    progress(`starting cutover daemon (data dir ${dataDir})`);
    const daemon = await startDemoDaemon(dataDir, signal);
    children.push(daemon);
    const client = createAdminClient({ dataDir });
    await client.health();

    progress('starting 4 instances of examples/hello: v1 x2 (for blue), v2 x2 (for green)');
    const [v1a, v1b, v2a, v2b] = await startInstances(children, [
      { version: 'v1', color: 'blue', instance: 'v1-a' },
      { version: 'v1', color: 'blue', instance: 'v1-b' },
      { version: 'v2', color: 'green', instance: 'v2-a' },
      { version: 'v2', color: 'green', instance: 'v2-b' },
    ]);
    const deploys: DemoDeploy[] = [];

    progress('deploying v1');
    deploys.push(toDemoDeploy(await deploy(client, 'v1', [v1a, v1b]), false));
    checkAborted(signal);

    progress(
      `load: ${options.concurrency} clients on ${daemon.publicOrigin}, deploying v2 under load`,
    );
    const running = startLoad({
      origin: daemon.publicOrigin,
      concurrency: options.concurrency,
      maxRequests: options.maxRequests,
      maxDurationMs: options.maxDurationMs,
    });
    load = running;
    running.flipCommitted('v1');
    await pause(LOAD_LEAD_MS, signal);
    running.flipStarted();
    const v2 = await deploy(client, 'v2', [v2a, v2b]);
    running.flipCommitted(v2.release);
    deploys.push(toDemoDeploy(v2, true));

    progress(`rolling back and forth ${options.flips} times under load`);
    const flipMs: number[] = [];
    const commandMs: number[] = [];
    for (let i = 0; i < options.flips; i += 1) {
      await pause(FLIP_GAP_MS, signal);
      running.flipStarted();
      const sentAt = performance.now();
      const flip = await client.rollback(DEMO_APP, {});
      commandMs.push(performance.now() - sentAt);
      running.flipCommitted(flip.release);
      flipMs.push(flip.durationMs);
    }
    // Finish the load on the last live release, long enough to reach the minimum request count.
    await pause(FLIP_GAP_MS, signal);
    while (
      running.sent < options.minRequests &&
      performance.now() - startedAt < options.maxDurationMs
    ) {
      await pause(LOAD_POLL_MS, signal);
    }
    load = undefined;
    const requests: LoadResult = await running.stop();
    return {
      ok: demoPassed(requests),
      daemon: { public: daemon.publicOrigin, preview: daemon.previewOrigin },
      deploys,
      flips: durationStats(flipMs),
      flipCommands: durationStats(commandMs),
      requests,
      durationMs: performance.now() - startedAt,
    };
  } finally {
    if (load !== undefined) await load.stop();
    progress('stopping the daemon and the instances');
    await Promise.all(children.map((child) => child.stop()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function startInstances(
  children: ChildHandle[],
  specs: readonly { version: string; color: string; instance: string }[],
): Promise<InstanceHandle[]> {
  const settled = await Promise.allSettled(specs.map((spec) => startHelloInstance(spec)));
  const started: InstanceHandle[] = [];
  for (const result of settled) {
    if (result.status === 'fulfilled') {
      started.push(result.value);
      children.push(result.value);
    }
  }
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return started;
}

function deploy(
  client: AdminClient,
  release: string,
  instances: readonly (InstanceHandle | undefined)[],
): Promise<DeployResponse> {
  return client.deploy(DEMO_APP, {
    release,
    instances: instances.flatMap((instance) => (instance === undefined ? [] : [instance.address])),
    health: DEMO_HEALTH,
    healthTimeoutMs: DEMO_HEALTH_TIMEOUT_MS,
  });
}

function toDemoDeploy(response: DeployResponse, underLoad: boolean): DemoDeploy {
  return {
    release: response.release,
    color: response.color,
    healthMs: response.healthMs,
    liveMs: response.flip.durationMs,
    underLoad,
  };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw interrupted();
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  checkAborted(signal);
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw interrupted();
  }
}
