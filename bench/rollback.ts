// Benchmark `rollback` (QUALITY.md section 1): ms from the rollback command to the first
// response from the old release, and to 100 % of responses from it, while keep-alive clients
// poll continuously and read `x-release`. The command goes through the daemon's admin API on
// its Unix socket (the path `cutover rollback` takes); a few rollbacks are also run through the
// `cutover rollback` CLI process itself, whose time includes starting Node.
//   node bench/rollback.ts         (npm run bench:rollback)
// Env: BENCH_ROLLBACKS (default 20), BENCH_CLI_ROLLBACKS (default 5).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { startReleasePoller, type ReleasePoller } from './lib/release-poller.ts';
import { median, percentile, round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const ROLLBACKS = Number(process.env['BENCH_ROLLBACKS'] ?? '20');
const CLI_ROLLBACKS = Number(process.env['BENCH_CLI_ROLLBACKS'] ?? '5');
const POLL_CONNECTIONS = 4;
const SETTLE_MS = 300;
const OBSERVE_MS = 500;
const GOAL_FIRST_MS = 50;
const GOAL_ALL_MS = 100;
const CUTOVER_BIN = fileURLToPath(new URL('../bin/cutover.js', import.meta.url));

interface Measurement {
  readonly via: 'admin API' | 'cutover CLI';
  readonly from: string;
  readonly to: string;
  /** From the command to the first response head from the old release. */
  readonly firstMs: number;
  /** From the command until no response from the other release arrives any more. */
  readonly allMs: number;
  readonly commandMs: number;
  /** The daemon's own report of the flip (command received to committed on every worker). */
  readonly reportedMs: number | null;
}

function releaseOf(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'release' in value) {
    const release = value.release;
    if (typeof release === 'string') return release;
  }
  return '';
}

function durationOf(value: unknown): number | null {
  if (typeof value === 'object' && value !== null && 'durationMs' in value) {
    const duration = value.durationMs;
    if (typeof duration === 'number') return duration;
  }
  return null;
}

async function measure(
  poller: ReleasePoller,
  via: Measurement['via'],
  run: () => Promise<unknown>,
): Promise<Measurement> {
  const before = poller.samples.length;
  const from = poller.samples.at(-1)?.release ?? '';
  const start = performance.now();
  const response = await run();
  const commandMs = performance.now() - start;
  await sleep(OBSERVE_MS);
  const after = poller.samples.slice(before).filter((sample) => sample.receivedAt >= start);
  const to = releaseOf(response) || (after.at(-1)?.release ?? '');
  if (to === '' || to === from) throw new Error(`rollback did not change the release (${from})`);
  const firstTo = after.find((sample) => sample.release === to);
  if (firstTo === undefined) throw new Error(`no response from ${to} within ${OBSERVE_MS} ms`);
  let lastOther = -Infinity;
  for (const sample of after) if (sample.release !== to) lastOther = sample.receivedAt;
  const firstMs = firstTo.receivedAt - start;
  return {
    via,
    from,
    to,
    firstMs,
    allMs: Math.max(firstMs, lastOther - start),
    commandMs,
    reportedMs: durationOf(response),
  };
}

function runCli(dataDir: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CUTOVER_BIN, 'rollback', 'bench', '--data-dir', dataDir, '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`cutover rollback exited ${code}: ${out}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as unknown);
      } catch {
        resolve({});
      }
    });
  });
}

function summarize(rows: readonly Measurement[]): Record<string, number> {
  const pick = (key: 'firstMs' | 'allMs' | 'commandMs'): number[] => rows.map((row) => row[key]);
  const reported = rows.map((row) => row.reportedMs ?? Number.NaN).filter(Number.isFinite);
  return {
    count: rows.length,
    firstMsMedian: round(median(pick('firstMs'))),
    firstMsMax: round(percentile(pick('firstMs'), 100)),
    allMsMedian: round(median(pick('allMs'))),
    allMsMax: round(percentile(pick('allMs'), 100)),
    commandMsMedian: round(median(pick('commandMs'))),
    reportedMsMedian: round(median(reported)),
    reportedMsMax: round(percentile(reported, 100)),
  };
}

async function main(): Promise<void> {
  const dir = await createTempDir('rollback');
  const workers = availableParallelism();
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const daemon = await startCutoverDaemon({ dir, workers });
  await deployRelease(daemon, 'bench', 'v1', [v1.address]);
  await deployRelease(daemon, 'bench', 'v2', [v2.address]);
  const poller = startReleasePoller(daemon.publicPort, POLL_CONNECTIONS);
  await sleep(SETTLE_MS);

  const measurements: Measurement[] = [];
  for (let i = 0; i < ROLLBACKS; i += 1) {
    measurements.push(
      await measure(poller, 'admin API', () =>
        daemon.adminOk('POST', '/v1/apps/bench/rollback', {}),
      ),
    );
    await sleep(SETTLE_MS);
  }
  for (let i = 0; i < CLI_ROLLBACKS; i += 1) {
    measurements.push(await measure(poller, 'cutover CLI', () => runCli(daemon.dataDir)));
    await sleep(SETTLE_MS);
  }
  await poller.stop();
  const failedPolls =
    poller.errors + poller.samples.filter((sample) => sample.status !== 200).length;

  const viaApi = measurements.filter((row) => row.via === 'admin API');
  const viaCli = measurements.filter((row) => row.via === 'cutover CLI');
  const api = summarize(viaApi);
  const cli = summarize(viaCli);
  const rows: Cell[][] = [
    [
      'admin API (POST /v1/apps/bench/rollback)',
      api['count'] ?? 0,
      api['firstMsMedian'] ?? null,
      api['firstMsMax'] ?? null,
      api['allMsMedian'] ?? null,
      api['allMsMax'] ?? null,
      api['commandMsMedian'] ?? null,
      api['reportedMsMedian'] ?? null,
      api['reportedMsMax'] ?? null,
    ],
    [
      'cutover rollback CLI (includes Node start)',
      cli['count'] ?? 0,
      cli['firstMsMedian'] ?? null,
      cli['firstMsMax'] ?? null,
      cli['allMsMedian'] ?? null,
      cli['allMsMax'] ?? null,
      cli['commandMsMedian'] ?? null,
      cli['reportedMsMedian'] ?? null,
      cli['reportedMsMax'] ?? null,
    ],
  ];
  printTable(
    `rollback: ${POLL_CONNECTIONS} keep-alive pollers reading x-release, ${workers} router workers`,
    [
      'via',
      'rollbacks',
      'first ms p50',
      'first ms max',
      '100% ms p50',
      '100% ms max',
      'command ms p50',
      'daemon flip ms p50',
      'daemon flip ms max',
    ],
    rows,
  );
  const goalMet =
    (api['firstMsMax'] ?? Infinity) < GOAL_FIRST_MS && (api['allMsMax'] ?? Infinity) < GOAL_ALL_MS;
  process.stdout.write(
    `\npolled responses: ${poller.samples.length}, failed: ${failedPolls}\n` +
      `goal (admin API, every rollback): first < ${GOAL_FIRST_MS} ms, 100 % < ${GOAL_ALL_MS} ms: ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('rollback', {
    command: 'node bench/rollback.ts',
    workers,
    pollConnections: POLL_CONNECTIONS,
    goal: { firstMs: GOAL_FIRST_MS, allMs: GOAL_ALL_MS },
    goalMet,
    polledResponses: poller.samples.length,
    failedPolls,
    adminApi: api,
    cli,
    measurements: measurements.map((row) => ({
      ...row,
      firstMs: round(row.firstMs),
      allMs: round(row.allMs),
      commandMs: round(row.commandMs),
    })),
  });
}

runBenchmark('rollback', main);
