// Benchmark `deploy` (QUALITY.md section 1): full deployments of the shop example, step by
// step, on a real daemon with the process runtime: v1 first, then v2 and v1 alternately. From
// each deployment's own timeline it reports every step's duration and cutover's overhead: the
// total minus the app's measured time (see lib/deploy-overhead.ts for what counts as the app's).
// Deployments go through the admin API as `cutover deploy vN --dir examples/shop/vN` sends them
// (POST /v1/apps/shop/deployments, then GET /v1/deployments/:id until it ends); the timeline is
// the daemon's, so how often the bench polls does not change the figures.
//   node bench/deploy.ts          (npm run bench:deploy)
// Env: BENCH_DEPLOYS (alternating deployments after the first, default 10).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeploymentView } from '../src/client/api-types.ts';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { startCutoverDaemon, type CutoverDaemon } from './lib/cutover-daemon.ts';
import { APP_PARTS, deployTimes, type DeployTimes } from './lib/deploy-overhead.ts';
import { median, percentile, round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const DEPLOYS = Number(process.env['BENCH_DEPLOYS'] ?? '10');
const POLL_MS = 20;
const DEPLOY_TIMEOUT_MS = 120_000;
const GOAL_OVERHEAD_MS = 1000;
const SHOP_DIR = fileURLToPath(new URL('../examples/shop/', import.meta.url));
/** The steps in pipeline order, for the table; a step a run never reached shows `-`. */
const STEP_ORDER = [
  'locking',
  'resolving',
  'drift-check',
  'schema-check',
  'starting',
  'migrating',
  'smoke',
  'warmup',
  'flipping',
  'verifying',
  'draining',
  'standby',
] as const;

interface Deployment {
  readonly release: string;
  readonly id: string;
  readonly outcome: string | null;
  /** From sending the request to the daemon's answer (the deployment accepted). */
  readonly acceptedMs: number;
  readonly times: DeployTimes;
  /** Retiring the previous standby at the start of `starting` (cutover's work). */
  readonly retireMs: number;
}

function isView(value: unknown): value is DeploymentView {
  return typeof value === 'object' && value !== null && 'id' in value && 'steps' in value;
}

async function deploy(daemon: CutoverDaemon, release: string): Promise<Deployment> {
  const dir = `${SHOP_DIR}${release}`;
  const configPath = `${dir}/cutover.yaml`;
  const config = await readFile(configPath, 'utf8');
  const sentAt = performance.now();
  const started = await daemon.adminOk('POST', '/v1/apps/shop/deployments', {
    release,
    dir,
    config,
    configPath,
  });
  const acceptedMs = performance.now() - sentAt;
  if (!isView(started)) throw new Error(`unexpected answer: ${JSON.stringify(started)}`);
  const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
  let view: DeploymentView = started;
  while (!view.ended) {
    if (Date.now() > deadline) throw new Error(`deployment of ${release} still at ${view.step}`);
    await sleep(POLL_MS);
    const next = await daemon.adminOk('GET', `/v1/deployments/${started.id}`);
    if (!isView(next)) throw new Error(`unexpected answer: ${JSON.stringify(next)}`);
    view = next;
  }
  if (view.outcome !== 'succeeded') {
    throw new Error(`deployment of ${release} ended ${view.outcome ?? '?'}: ${view.reason ?? ''}`);
  }
  return {
    release,
    id: view.id,
    outcome: view.outcome,
    acceptedMs,
    times: deployTimes(view),
    retireMs: view.report.start?.retireMs ?? 0,
  };
}

function row(name: string, values: readonly number[]): Cell[] {
  if (values.length === 0) return [name, null, null, null];
  return [
    name,
    round(median(values)),
    round(percentile(values, 100)),
    round(percentile(values, 0)),
  ];
}

async function main(): Promise<void> {
  const dir = await createTempDir('deploy');
  // The shop releases declare their database through the daemon's SHOP_DATABASE_URL (the daemon
  // inherits this process's environment): a SQLite file in the run's temp dir.
  process.env['SHOP_DATABASE_URL'] = `sqlite:${join(dir, 'shop.db')}`;
  const daemon = await startCutoverDaemon({ dir });
  const first = await deploy(daemon, 'v1');
  const runs: Deployment[] = [];
  for (let i = 0; i < DEPLOYS; i += 1) {
    const release = i % 2 === 0 ? 'v2' : 'v1';
    const done = await deploy(daemon, release);
    process.stderr.write(
      `deploy ${release}: total ${round(done.times.totalMs)} ms, overhead ${round(done.times.overheadMs)} ms\n`,
    );
    runs.push(done);
  }
  const pick = (f: (run: Deployment) => number | undefined): number[] =>
    runs.map(f).filter((value): value is number => value !== undefined);
  // Resolving retires the previous standby: it drains it and waits for the old release's
  // instances to exit on their stop signal, which is mostly the app's own shutdown.
  const withoutRetire = pick((run) => run.times.overheadMs - run.retireMs);
  const stepNames = [
    ...STEP_ORDER,
    ...new Set(runs.flatMap((run) => Object.keys(run.times.steps))),
  ].filter((name, index, all) => all.indexOf(name) === index);
  const rows: Cell[][] = stepNames.map((name) =>
    row(
      name,
      pick((run) => run.times.steps[name]),
    ),
  );
  const totals = pick((run) => run.times.totalMs);
  const apps = pick((run) => run.times.appMs);
  const overheads = pick((run) => run.times.overheadMs);
  const accepted = pick((run) => run.acceptedMs);
  rows.push(
    row('total', totals),
    ...APP_PARTS.map((part) =>
      row(
        `  app: ${part}`,
        pick((run) => run.times.app[part]),
      ),
    ),
    row(`app (${APP_PARTS.join(' + ')})`, apps),
    row('cutover overhead (total - app)', overheads),
    row('overhead without retiring the standby (- report.start.retireMs)', withoutRetire),
    row('request accepted (POST answered)', accepted),
  );
  printTable(
    `deploy: the shop example (examples/shop), ${DEPLOYS} deployments alternating v2/v1 after a first v1, process runtime`,
    ['step / part', 'ms median', 'ms max', 'ms min'],
    rows,
  );
  const goalMet = percentile(overheads, 100) < GOAL_OVERHEAD_MS;
  const goalWithoutRetireMet = percentile(withoutRetire, 100) < GOAL_OVERHEAD_MS;
  process.stdout.write(
    `\nfirst deployment (v1 onto an empty app): total ${round(first.times.totalMs)} ms, overhead ${round(first.times.overheadMs)} ms\n` +
      `goal (every deployment): cutover overhead < ${GOAL_OVERHEAD_MS} ms: ${goalMet ? 'met' : 'NOT met'}\n` +
      `the same, counting the old standby's retirement (in starting, report.start.retireMs) as the app's: ${goalWithoutRetireMet ? 'met' : 'NOT met'}\n`,
  );
  const summary = (values: readonly number[]): Record<string, number> => ({
    median: round(median(values)),
    max: round(percentile(values, 100)),
    min: round(percentile(values, 0)),
  });
  await writeResult('deploy', {
    command: 'node bench/deploy.ts',
    deployments: DEPLOYS,
    goal: { overheadMs: GOAL_OVERHEAD_MS },
    goalMet,
    goalWithoutRetireMet,
    appParts: APP_PARTS,
    app: Object.fromEntries(
      APP_PARTS.map((part) => [part, summary(pick((run) => run.times.app[part]))]),
    ),
    steps: Object.fromEntries(
      stepNames.map((name) => [name, summary(pick((run) => run.times.steps[name]))]),
    ),
    totalMs: summary(totals),
    appMs: summary(apps),
    overheadMs: summary(overheads),
    overheadWithoutRetireMs: summary(withoutRetire),
    acceptedMs: summary(accepted),
    first: { release: first.release, ...first.times },
    runs: runs.map((run) => ({
      release: run.release,
      id: run.id,
      totalMs: round(run.times.totalMs),
      appMs: round(run.times.appMs),
      overheadMs: round(run.times.overheadMs),
      steps: run.times.steps,
      app: run.times.app,
    })),
  });
}

runBenchmark('deploy', main);
