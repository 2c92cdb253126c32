// Benchmark `rollback` (QUALITY.md section 1): ms from the rollback command to the first
// response from the old release, and to 100 % of responses from it, while keep-alive clients
// poll continuously and read `x-release`. The command goes through the daemon's admin API on
// its Unix socket (the path `cutover rollback` takes); a few rollbacks are also run through the
// `cutover rollback` CLI process itself, whose time includes starting Node (bench/rollback-cli.ts
// measures that path over more rollbacks).
//   node bench/rollback.ts         (npm run bench:rollback)
// Env: BENCH_ROLLBACKS (default 20), BENCH_CLI_ROLLBACKS (default 5).
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { startReleasePoller } from './lib/release-poller.ts';
import {
  measureRollback as measure,
  roundMeasurement,
  runCutoverCli,
  summarizeRollbacks as summarize,
  type Measurement,
} from './lib/rollback-timing.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const ROLLBACKS = Number(process.env['BENCH_ROLLBACKS'] ?? '20');
const CLI_ROLLBACKS = Number(process.env['BENCH_CLI_ROLLBACKS'] ?? '5');
const POLL_CONNECTIONS = 4;
const SETTLE_MS = 300;
const GOAL_FIRST_MS = 50;
const GOAL_ALL_MS = 100;

function runCli(dataDir: string): Promise<unknown> {
  return runCutoverCli(['rollback', 'bench', '--data-dir', dataDir, '--json']);
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
    measurements: measurements.map(roundMeasurement),
  });
}

runBenchmark('rollback', main);
