// `cutover demo`, the whole story of a blue-green deployment on the shop example: a real daemon
// (child process, port-0 listeners, temporary data dir) runs the pipeline on examples/shop/vN.
// Deploy v1; start a steady load; deploy v2 under it; a rollback drill measures the RTO while v1
// is still the standby; v3 is refused at its smoke check before the flip; v4 flips, fails its
// probes and is flipped back automatically. Then the schema story (issue 4): v5 renames a column
// the live v2 still uses, and the migration linter refuses it; v6's migration passes the linter
// but breaks v2 at runtime, and the shadow check (v2's compat check on a migrated shadow copy)
// refuses it; neither starts an instance, v2 stays live. Then issue 5: v7-drift carries a
// config difference production never had and the drift check refuses it; v10 goes live as a
// canary (10 %, then 50 % of the traffic, each step judged on the router's own counts, then the
// flip); v11, a canary failing 5 % of its requests, is taken back at its first step without any
// flip, v10 stays live. The shop's database is a SQLite file in
// the demo's data dir (the daemon's SHOP_DATABASE_URL). Each step is printed as it ends, then a report and
// the expectations that held or not. The drill comes before v3 and v4 because a deployment
// goes into the idle color, which is where the standby is kept: once v3 and v4 took it and were
// cleaned up, there is no standby left to drill. It stops everything it started (the daemon and the instances its runtime
// started), also when interrupted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createAdminClient } from '../../client/admin-client.ts';
import type { AdminClient } from '../../client/admin-client.ts';
import { formatDuration } from '../parse-duration.ts';
import { deployRelease } from './demo-deploy.ts';
import { evaluateDemo } from './demo-expectations.ts';
import type { StoryStep } from './demo-expectations.ts';
import { stopRecordedInstances } from './demo-instances.ts';
import { startLoad, withRoutingCheck } from './demo-load.ts';
import type { Load, LoadResult } from './demo-load.ts';
import { addDeployment, addFlip, checkRouting, createTimeline } from './demo-routing-check.ts';
import type { RoutingTimeline } from './demo-routing-check.ts';
import { interrupted, startDemoDaemon } from './demo-processes.ts';
import type { ChildHandle } from './demo-processes.ts';
import { toDemoDeployment, toDemoDrill } from './demo-report.ts';
import { shortFailure } from './demo-schema.ts';
import type { DemoDeployment, DemoDrill, DemoReport } from './demo-report.ts';

export const DEMO_APP = 'shop';
export const SHOP_DIR = fileURLToPath(new URL('../../../examples/shop', import.meta.url));

/** The deployments of the story, in order; the drill runs between v2 and v3. */
export const DEMO_STORY: readonly StoryStep[] = [
  { release: 'v1', expect: 'succeeded', liveAfter: 'v1' },
  { release: 'v2', expect: 'succeeded', liveAfter: 'v2' },
  { release: 'v3', expect: 'refused-before-flip', refusedAt: 'smoke', liveAfter: 'v2' },
  { release: 'v4', expect: 'rolled-back', liveAfter: 'v2' },
  {
    release: 'v5',
    expect: 'refused-before-flip',
    refusedAt: 'schema-check',
    refusedBy: { lintRule: 'rename-column' },
    liveAfter: 'v2',
  },
  {
    release: 'v6',
    expect: 'refused-before-flip',
    refusedAt: 'schema-check',
    refusedBy: { shadowFailed: 'v2' },
    liveAfter: 'v2',
  },
  { release: 'v7-drift', expect: 'refused-before-flip', refusedAt: 'drift-check', liveAfter: 'v2' },
  { release: 'v10', dir: 'v10-canary-good', canary: true, expect: 'succeeded', liveAfter: 'v10' },
  { release: 'v11', dir: 'v11-canary-bad', canary: true, expect: 'rolled-back', liveAfter: 'v10' },
];

export const DEMO_STAGES = [
  'v1',
  'v2',
  'drill',
  'v3',
  'v4',
  'v5',
  'v6',
  'v7-drift',
  'v10',
  'v11',
] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

export interface DemoOptions {
  /** The last stage to run: a shorter story for tests. */
  readonly until: DemoStage;
  /** The steady load: requests per second across all clients. */
  readonly ratePerSecond: number;
  readonly concurrency: number;
  /** Hard bounds of the load. */
  readonly maxRequests: number;
  readonly maxDurationMs: number;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  until: 'v11',
  ratePerSecond: 100,
  concurrency: 4,
  maxRequests: 100_000,
  maxDurationMs: 300_000,
};

/** Load before and after the deployments, so v2 really deploys under traffic. */
const LOAD_LEAD_MS = 500;

export type Progress = (line: string) => void;

interface Story {
  readonly client: AdminClient;
  readonly progress: Progress;
  readonly signal: AbortSignal;
  readonly deployments: DemoDeployment[];
  load: Load | undefined;
  /** Which release must answer when: built as the flips happen, checked at the end. */
  timeline: RoutingTimeline | undefined;
}

export async function runDemo(
  options: DemoOptions,
  progress: Progress,
  signal: AbortSignal,
): Promise<DemoReport> {
  const startedAt = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-demo-'));
  let daemon: ChildHandle | undefined;
  let load: Load | undefined;
  try {
    progress(`starting cutover daemon (data dir ${dataDir})`);
    const started = await startDemoDaemon(dataDir, signal);
    daemon = started;
    const client = createAdminClient({ dataDir });
    await client.health();
    const story: Story = {
      client,
      progress,
      signal,
      deployments: [],
      load: undefined,
      timeline: undefined,
    };
    const stages = DEMO_STAGES.slice(0, DEMO_STAGES.indexOf(options.until) + 1);

    await deployStep(story, 'v1');
    let requests: LoadResult | null = null;
    let drill: DemoDrill | null = null;
    let drillError: string | null = null;
    if (stages.length > 1) {
      progress(
        `load: ${options.ratePerSecond} requests/s from ${options.concurrency} clients on ${started.publicOrigin} (GET /, GET /api/products, POST /api/orders)`,
      );
      // The timeline starts before the first request, so every answer has a live release.
      const timeline = createTimeline(Date.now(), (await liveRelease(client)) ?? 'none');
      story.timeline = timeline;
      load = startLoad({
        origin: started.publicOrigin,
        concurrency: options.concurrency,
        ratePerSecond: options.ratePerSecond,
        maxRequests: options.maxRequests,
        maxDurationMs: options.maxDurationMs,
      });
      story.load = load;
      await pause(LOAD_LEAD_MS, signal);
      for (const release of stages.slice(1)) {
        if (release === 'drill') {
          ({ drill, drillError } = await drillStep(story));
        } else {
          await deployStep(story, release);
        }
      }
      await pause(LOAD_LEAD_MS, signal);
      const counts = await load.stop();
      requests = withRoutingCheck(counts, checkRouting(load.answers, timeline));
      load = undefined;
    }
    const storyRan = DEMO_STORY.filter((step) => stages.includes(step.release as DemoStage));
    const expectations = evaluateDemo({
      story: storyRan,
      deployments: story.deployments,
      drill,
      drillRan: stages.includes('drill'),
      drillError,
      requests,
    });
    return {
      ok: expectations.every((e) => e.ok),
      app: DEMO_APP,
      daemon: { public: started.publicOrigin, preview: started.previewOrigin },
      deployments: story.deployments,
      drill,
      requests,
      expectations,
      durationMs: performance.now() - startedAt,
    };
  } finally {
    if (load !== undefined) await load.stop();
    progress('stopping the daemon and the app instances it started');
    // The daemon first, so it does not restart the instances stopped next.
    if (daemon !== undefined) await daemon.stop();
    await stopRecordedInstances(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const STORY_LINES: Readonly<Record<string, string>> = {
  v1: 'deploy v1: the first release, nothing live yet',
  v2: 'deploy v2 under load: must go live with 0 failed requests',
  v3: 'deploy v3: its catalog is broken, the smoke check must refuse it before the flip',
  v4: 'deploy v4: it fails only under real traffic, the probes must flip back to v2 automatically',
  v5: 'deploy v5: its migration renames a column v2 still uses, the migration linter must refuse it before anything starts',
  v6: 'deploy v6: its migration passes the linter but breaks v2, the shadow check must refuse it before anything starts',
  'v7-drift':
    'deploy v7-drift: its env points PAYMENTS_URL at a staging endpoint production never had, the drift check must refuse it before anything starts',
  v10: "deploy v10 as a canary: 10 % of the traffic, then 50 %, each step judged on the router's own error rate and p99 against v2, then the flip",
  v11: "deploy v11 as a canary: 5 % of its answers fail, its first step's analysis must take all traffic back to v10 before any flip",
};

async function deployStep(story: Story, release: string): Promise<void> {
  const { client, load, progress, signal } = story;
  progress(STORY_LINES[release] ?? `deploy ${release}`);
  // v4's and v11's own 500s in their short time on traffic are the app's, counted apart.
  if (release === 'v4' || release === 'v11') load?.tolerate(release);
  const dir = DEMO_STORY.find((step) => step.release === release)?.dir ?? release;
  const view = await deployRelease(client, DEMO_APP, release, join(SHOP_DIR, dir), {
    signal,
    progress,
  });
  if (story.timeline !== undefined) addDeployment(story.timeline, view, Date.now());
  const live = await liveRelease(client);
  load?.tolerate(null);
  const deployment = toDemoDeployment(view, live, load !== undefined);
  story.deployments.push(deployment);
  const why = view.reason === null ? '' : `: ${shortFailure(view.reason)}`;
  progress(
    `  -> ${view.outcome ?? view.step}${deployment.failedAt === null ? '' : ` at step ${deployment.failedAt}`}` +
      `${why}; live: ${live ?? 'none'}`,
  );
}

async function drillStep(
  story: Story,
): Promise<{ drill: DemoDrill | null; drillError: string | null }> {
  const { client, progress, signal } = story;
  const startedAt = Date.now();
  progress(
    'drill: flip back to the standby (v1), verify, flip forward to v2, verify; measure the RTO',
  );
  try {
    const report = await untilAborted(client.drill(DEMO_APP), signal);
    const drill = toDemoDrill(report);
    progress(
      `  -> ${drill.passed ? 'passed' : 'failed'}: RTO ${formatDuration(drill.rtoMs)} ` +
        `(objective ${formatDuration(drill.objectiveMs)}), ${drill.failedRequests} failed requests` +
        `${drill.reason === null ? '' : `: ${drill.reason}`}`,
    );
    return { drill, drillError: null };
  } catch (error) {
    if (signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    progress(`  -> refused: ${message}`);
    return { drill: null, drillError: message };
  } finally {
    // Two flips happen inside the drill: nothing in it is checked, what follows must be on
    // the release live at its end.
    if (!signal.aborted && story.timeline !== undefined) {
      addFlip(story.timeline, startedAt, Date.now(), (await liveRelease(client)) ?? 'none');
    }
  }
}

/** The release serving the app's public traffic now. */
async function liveRelease(client: AdminClient): Promise<string | null> {
  const app = await client.app(DEMO_APP);
  return app.live === null ? null : app.colors[app.live].release;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw interrupted();
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw interrupted();
  }
}
