// Benchmark `rollback` through the CLI (issue 3: the rollback figures must hold when driven by
// `cutover rollback`): ms from spawning `node bin/cutover.js rollback bench --json` to the first
// response from the old release seen by keep-alive pollers, and to 100 %, as bench/rollback.ts
// measures the admin API path. Each round runs, alternating on the same daemon:
//   1. `cutover rollback` (the compile cache warm: every run after the first);
//   2. `node -e 0`, the bare Node start: the floor no CLI written for Node can go below;
//   3. the same rollback through the admin API (POST /v1/apps/bench/rollback), the peer.
// A few cold runs first (an empty compile cache each: the first run after `npm ci`).
// The compile cache lives in the run's temp dir, so the figures do not depend on earlier runs.
//   node bench/rollback-cli.ts     (npm run bench:rollback-cli)
// Then, with the pollers stopped (they keep both cores busy), the CLI run alone beside a bare
// Node start: the brief's < 100 ms for the whole `cutover rollback` process.
// Env: BENCH_ROLLBACKS (rounds, default 20), BENCH_COLD_ROLLBACKS (default 3),
// BENCH_QUIET_ROLLBACKS (default 20).
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { startReleasePoller } from './lib/release-poller.ts';
import {
  measureRollback,
  releaseOf,
  roundMeasurement,
  runCutoverCli,
  runProcess,
  summarizeRollbacks,
  type Measurement,
} from './lib/rollback-timing.ts';
import { childCpuMs } from './lib/child-cpu.ts';
import { median, percentile, round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const ROUNDS = Number(process.env['BENCH_ROLLBACKS'] ?? '20');
const COLD = Number(process.env['BENCH_COLD_ROLLBACKS'] ?? '3');
const QUIET_ROLLBACKS = Number(process.env['BENCH_QUIET_ROLLBACKS'] ?? '20');
const POLL_CONNECTIONS = 4;
const SETTLE_MS = 300;
const GOAL_FIRST_MS = 50;
const GOAL_ALL_MS = 100;
/** The brief's target for the whole CLI run: rollback committed and the process exited. */
const GOAL_COMMAND_MS = 100;

function summaryRow(label: string, rows: readonly Measurement[]): Cell[] {
  const s = summarizeRollbacks(rows);
  return [
    label,
    s['count'] ?? 0,
    s['firstMsMedian'] ?? null,
    s['firstMsMax'] ?? null,
    s['allMsMedian'] ?? null,
    s['allMsMax'] ?? null,
    s['commandMsMedian'] ?? null,
    s['commandMsMax'] ?? null,
    s['reportedMsMedian'] ?? null,
  ];
}

/** Awaits a child's run and records the CPU it used. */
async function withCpu<T>(into: number[], run: Promise<T>): Promise<T> {
  const before = childCpuMs();
  const result = await run;
  into.push(childCpuMs() - before);
  return result;
}

async function main(): Promise<void> {
  const dir = await createTempDir('rollback-cli');
  const workers = availableParallelism();
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const daemon = await startCutoverDaemon({ dir, workers });
  await deployRelease(daemon, 'bench', 'v1', [v1.address]);
  await deployRelease(daemon, 'bench', 'v2', [v2.address]);
  const poller = startReleasePoller(daemon.publicPort, POLL_CONNECTIONS);
  await sleep(SETTLE_MS);

  const args = ['rollback', 'bench', '--data-dir', daemon.dataDir, '--json'];
  const cold: Measurement[] = [];
  const coldCpuMs: number[] = [];
  for (let i = 0; i < COLD; i += 1) {
    const cache = await mkdtemp(join(dir, 'compile-cache-cold-'));
    const env = { ...process.env, NODE_COMPILE_CACHE: cache };
    cold.push(
      await measureRollback(poller, 'cli cold', () => withCpu(coldCpuMs, runCutoverCli(args, env))),
    );
    await sleep(SETTLE_MS);
  }
  const warmEnv = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
  // Fills the warm cache: the run every later one is compared with is the second.
  await runCutoverCli(['--version'], warmEnv);
  await runCutoverCli(['rollback', '--help'], warmEnv);

  // CPU per run (user + system, from this process's children totals): unlike wall time, it
  // hardly depends on how busy the shared machine is.
  const cliCpuMs: number[] = [];
  const nodeCpuMs: number[] = [];
  const cli: Measurement[] = [];
  const api: Measurement[] = [];
  const nodeStartMs: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    cli.push(
      await measureRollback(poller, 'cli', () => withCpu(cliCpuMs, runCutoverCli(args, warmEnv))),
    );
    await sleep(SETTLE_MS);
    const nodeStart = performance.now();
    await withCpu(nodeCpuMs, runProcess(process.execPath, ['-e', '0']));
    nodeStartMs.push(performance.now() - nodeStart);
    await sleep(SETTLE_MS);
    api.push(
      await measureRollback(poller, 'admin API', () =>
        daemon.adminOk('POST', '/v1/apps/bench/rollback', {}),
      ),
    );
    await sleep(SETTLE_MS);
  }
  await poller.stop();
  // Without the pollers, which keep both cores busy: the CLI run alone, beside a bare Node start.
  const quietCommandMs: number[] = [];
  const quietNodeStartMs: number[] = [];
  let lastRelease = '';
  for (let i = 0; i < QUIET_ROLLBACKS; i += 1) {
    const start = performance.now();
    const result = await withCpu(cliCpuMs, runCutoverCli(args, warmEnv));
    quietCommandMs.push(performance.now() - start);
    const release = releaseOf(result);
    if (release === '' || release === lastRelease) {
      throw new Error(`cutover rollback did not change the release: ${JSON.stringify(result)}`);
    }
    lastRelease = release;
    const nodeStart = performance.now();
    await withCpu(nodeCpuMs, runProcess(process.execPath, ['-e', '0']));
    quietNodeStartMs.push(performance.now() - nodeStart);
    await sleep(SETTLE_MS);
  }
  const failedPolls =
    poller.errors + poller.samples.filter((sample) => sample.status !== 200).length;

  printTable(
    `rollback through the CLI: ${POLL_CONNECTIONS} keep-alive pollers reading x-release, ${workers} router workers, ${ROUNDS} rounds alternating`,
    [
      'via',
      'rollbacks',
      'first ms p50',
      'first ms max',
      '100% ms p50',
      '100% ms max',
      'command ms p50',
      'command ms max',
      'daemon flip ms p50',
    ],
    [
      summaryRow('cutover rollback CLI, compile cache warm', cli),
      summaryRow('cutover rollback CLI, compile cache empty', cold),
      summaryRow('admin API (POST /v1/apps/bench/rollback)', api),
    ],
  );
  const cliFirst = cli.map((row) => row.firstMs);
  const cliAll = cli.map((row) => row.allMs);
  const cliCommand = cli.map((row) => row.commandMs);
  const ownMs = cli.map((row, i) => row.commandMs - (nodeStartMs[i] ?? Number.NaN));
  // QUALITY.md's goal, every rollback, now timed from spawning the CLI; and the CLI run itself.
  const goalMet =
    percentile(cliFirst, 100) < GOAL_FIRST_MS && percentile(cliAll, 100) < GOAL_ALL_MS;
  const commandGoalMet = percentile(cliCommand, 100) < GOAL_COMMAND_MS;
  const commandGoalQuietMet = percentile(quietCommandMs, 100) < GOAL_COMMAND_MS;
  process.stdout.write(
    `\nwithout the pollers, ${QUIET_ROLLBACKS} more rollbacks: cutover rollback (spawn to exit) median ${round(median(quietCommandMs))} ms, max ${round(percentile(quietCommandMs, 100))} ms; ` +
      `bare Node start median ${round(median(quietNodeStartMs))} ms, max ${round(percentile(quietNodeStartMs, 100))} ms\n` +
      `goal (no other load from the bench): the CLI run < ${GOAL_COMMAND_MS} ms, every rollback: ${commandGoalQuietMet ? 'met' : 'NOT met'}\n`,
  );
  const mean = (values: readonly number[]): number =>
    values.reduce((sum, value) => sum + value, 0) / values.length;
  process.stdout.write(
    `\nCPU per run (user + system, mean): cutover rollback ${round(mean(cliCpuMs), 1)} ms (compile cache empty: ${round(mean(coldCpuMs), 1)} ms), bare Node start ${round(mean(nodeCpuMs), 1)} ms\n`,
  );
  process.stdout.write(
    `\nbare Node start (node -e 0), same rounds: median ${round(median(nodeStartMs))} ms, max ${round(percentile(nodeStartMs, 100))} ms\n` +
      `the CLI run minus the bare Node start of its round: median ${round(median(ownMs))} ms\n` +
      `polled responses: ${poller.samples.length}, failed: ${failedPolls}\n` +
      `goal (warm CLI, every rollback): first < ${GOAL_FIRST_MS} ms, 100 % < ${GOAL_ALL_MS} ms after spawning it: ${goalMet ? 'met' : 'NOT met'}\n` +
      `goal (warm CLI, every rollback): the CLI run (spawn to exit) < ${GOAL_COMMAND_MS} ms: ${commandGoalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('rollback-cli', {
    command: 'node bench/rollback-cli.ts',
    workers,
    pollConnections: POLL_CONNECTIONS,
    goal: { firstMs: GOAL_FIRST_MS, allMs: GOAL_ALL_MS, commandMs: GOAL_COMMAND_MS },
    goalMet,
    commandGoalMet,
    commandGoalQuietMet,
    quiet: {
      rollbacks: QUIET_ROLLBACKS,
      commandMs: {
        median: round(median(quietCommandMs)),
        max: round(percentile(quietCommandMs, 100)),
      },
      nodeStartMs: {
        median: round(median(quietNodeStartMs)),
        max: round(percentile(quietNodeStartMs, 100)),
      },
    },
    polledResponses: poller.samples.length,
    failedPolls,
    cliWarm: summarizeRollbacks(cli),
    cliCold: summarizeRollbacks(cold),
    adminApi: summarizeRollbacks(api),
    nodeStartMs: {
      median: round(median(nodeStartMs)),
      max: round(percentile(nodeStartMs, 100)),
    },
    cpuMsMean: {
      cli: round(mean(cliCpuMs), 1),
      cliCold: round(mean(coldCpuMs), 1),
      nodeStart: round(mean(nodeCpuMs), 1),
    },
    cliMinusNodeStartMsMedian: round(median(ownMs)),
    measurements: [...cold, ...cli, ...api].map(roundMeasurement),
  });
}

runBenchmark('rollback-cli', main);
