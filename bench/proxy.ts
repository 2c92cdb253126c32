// Benchmark `proxy` (QUALITY.md section 1): requests/s and p50/p99 through cutover vs nginx vs
// HAProxy vs direct, one fast upstream (nginx `return 200`), wrk keep-alive with 50 connections;
// each proxy with one worker, then each with all cores. Peers and cutover run alternating in
// one run; ratios are medians of per-round pairs.
//   node bench/proxy.ts            (npm run bench:proxy)
// Env: BENCH_ROUNDS (default 3), BENCH_DURATION_S (default 5), BENCH_CUTOVER=builtin to measure
// the built-in router alone instead of the whole daemon.
import { availableParallelism } from 'node:os';
import { runBenchmark } from './lib/cleanup.ts';
import { ensureTools } from './lib/ensure-tools.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { okServerBlock, proxyServerBlock, startNginx } from './lib/nginx-peer.ts';
import { startHaproxy } from './lib/haproxy-peer.ts';
import { fileURLToPath } from 'node:url';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startChild } from './lib/child.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';
import { median, medianRatio, round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? '5');
const WARMUP_S = 1;
const GOAL_RPS_VS_NGINX = 0.6;
const GOAL_P99_VS_NGINX = 2;
const CUTOVER_MODE = process.env['BENCH_CUTOVER'] === 'builtin' ? 'builtin' : 'daemon';
const BUILTIN_MAIN = fileURLToPath(new URL('./lib/builtin-router-main.ts', import.meta.url));

/** Starts cutover for the benchmark and returns its public URL. */
async function startCutover(dir: string, upstream: string, workers: number): Promise<string> {
  if (CUTOVER_MODE === 'builtin') {
    const child = startChild(`cutover router w${workers}`, process.execPath, [
      BUILTIN_MAIN,
      String(workers),
      upstream,
    ]);
    const match = await child.waitForLine(/^listening (\d+)$/, 20_000);
    return `http://127.0.0.1:${match[1]}/`;
  }
  const daemon = await startCutoverDaemon({ dir, name: `cutover-w${workers}`, workers });
  await deployRelease(daemon, 'bench', 'v1', [upstream]);
  return daemon.publicUrl;
}

type Target = 'direct' | 'nginx' | 'haproxy' | 'cutover';

interface TargetRuns {
  rps: number[];
  p50Ms: number[];
  p99Ms: number[];
  failed: number;
}

interface SetupResult {
  readonly setup: string;
  readonly workers: number;
  readonly targets: Partial<Record<Target, TargetRuns>>;
  readonly cutoverError: string | null;
}

async function measureSetup(
  tools: Record<string, string>,
  dir: string,
  upstream: string,
  directUrl: string,
  workers: number,
): Promise<SetupResult> {
  const setup = workers === 1 ? '1 worker' : `${workers} workers`;
  const nginx = await startNginx({
    nginxPath: tools['nginx'] ?? 'nginx',
    dir,
    name: `nginx-w${workers}`,
    workers,
    serverBlock: (port) => proxyServerBlock(port, [upstream]),
  });
  const haproxy = await startHaproxy({
    haproxyPath: tools['haproxy'] ?? 'haproxy',
    dir,
    name: `haproxy-t${workers}`,
    threads: workers,
    upstreams: [upstream],
  });
  const urls: Partial<Record<Target, string>> = { nginx: nginx.url, haproxy: haproxy.url };
  let cutoverError: string | null = null;
  try {
    urls.cutover = await startCutover(dir, upstream, workers);
  } catch (error) {
    cutoverError = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    process.stderr.write(`bench proxy: cutover unavailable for ${setup}: ${String(error)}\n`);
  }

  const order: Target[] = (['nginx', 'haproxy', 'cutover'] as const).filter(
    (target) => urls[target] !== undefined,
  );
  for (const target of order) {
    await runWrk(tools['wrk'] ?? 'wrk', {
      url: urls[target] ?? '',
      threads: 2,
      connections: 50,
      durationS: WARMUP_S,
    });
  }
  const targets: Partial<Record<Target, TargetRuns>> = {};
  const record = (target: Target, result: WrkResult): void => {
    const runs = (targets[target] ??= { rps: [], p50Ms: [], p99Ms: [], failed: 0 });
    runs.rps.push(result.rps);
    runs.p50Ms.push(result.p50Ms);
    runs.p99Ms.push(result.p99Ms);
    runs.failed += result.failed;
    process.stderr.write(
      `  ${setup} ${target}: ${Math.round(result.rps)} req/s p50 ${result.p50Ms} ms p99 ${result.p99Ms} ms failed ${result.failed}\n`,
    );
  };
  const wrk = (url: string): Promise<WrkResult> =>
    runWrk(tools['wrk'] ?? 'wrk', { url, threads: 2, connections: 50, durationS: DURATION_S });
  // Direct is the reference (the upstream alone), measured once per setup.
  record('direct', await wrk(directUrl));
  for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex += 1) {
    // Rotate the order every round so no proxy always runs first (or hot) on a noisy machine.
    const rotated = order.map((_, i) => order[(i + roundIndex) % order.length] as Target);
    for (const target of rotated) record(target, await wrk(urls[target] ?? ''));
  }
  await nginx.child.stop();
  await haproxy.child.stop();
  return { setup, workers, targets, cutoverError };
}

async function main(): Promise<void> {
  const tools = ensureTools(['nginx', 'haproxy', 'wrk']);
  const dir = await createTempDir('proxy');
  const upstream = await startNginx({
    nginxPath: tools['nginx'] ?? 'nginx',
    dir,
    name: 'upstream',
    workers: 1,
    serverBlock: okServerBlock,
  });
  const upstreamAddress = `127.0.0.1:${upstream.port}`;
  const cores = availableParallelism();
  const setups: SetupResult[] = [];
  for (const workers of cores > 1 ? [1, cores] : [1]) {
    setups.push(await measureSetup(tools, dir, upstreamAddress, upstream.url, workers));
  }

  const rows: Cell[][] = [];
  const json: Record<string, unknown>[] = [];
  let allGoalsMet = true;
  for (const result of setups) {
    const nginx = result.targets.nginx;
    const haproxy = result.targets.haproxy;
    const cutover = result.targets.cutover;
    const ratios = {
      rpsVsNginx: nginx && cutover ? round(medianRatio(cutover.rps, nginx.rps)) : null,
      rpsVsHaproxy: haproxy && cutover ? round(medianRatio(cutover.rps, haproxy.rps)) : null,
      p99VsNginx: nginx && cutover ? round(medianRatio(cutover.p99Ms, nginx.p99Ms)) : null,
      p99VsHaproxy: haproxy && cutover ? round(medianRatio(cutover.p99Ms, haproxy.p99Ms)) : null,
    };
    const goalMet =
      ratios.rpsVsNginx !== null &&
      ratios.p99VsNginx !== null &&
      ratios.rpsVsNginx >= GOAL_RPS_VS_NGINX &&
      ratios.p99VsNginx <= GOAL_P99_VS_NGINX;
    allGoalsMet &&= goalMet;
    const perTarget: Record<string, unknown> = {};
    for (const target of ['direct', 'nginx', 'haproxy', 'cutover'] as const) {
      const runs = result.targets[target];
      if (runs === undefined) {
        rows.push([result.setup, target, null, null, null, null, null, null]);
        continue;
      }
      const summary = {
        rps: Math.round(median(runs.rps)),
        p50Ms: round(median(runs.p50Ms), 3),
        p99Ms: round(median(runs.p99Ms), 3),
        failed: runs.failed,
        runs: runs.rps.length,
      };
      perTarget[target] = { ...summary, rpsRuns: runs.rps.map((rps) => Math.round(rps)) };
      rows.push([
        result.setup,
        target,
        summary.rps,
        summary.p50Ms,
        summary.p99Ms,
        summary.failed,
        target === 'cutover' ? ratios.rpsVsNginx : null,
        target === 'cutover' ? ratios.p99VsNginx : null,
      ]);
    }
    rows.push([
      result.setup,
      'cutover/HAProxy',
      null,
      null,
      null,
      null,
      ratios.rpsVsHaproxy,
      ratios.p99VsHaproxy,
    ]);
    json.push({
      setup: result.setup,
      workers: result.workers,
      targets: perTarget,
      ratios,
      goalMet,
      cutoverError: result.cutoverError,
    });
  }
  printTable(
    `proxy (cutover = ${CUTOVER_MODE}): wrk -t2 -c50 -d${DURATION_S}s --latency, keep-alive, ${ROUNDS} alternating rounds (medians; ratios = median of pairs)`,
    ['setup', 'target', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'rps ratio', 'p99 ratio'],
    rows,
  );
  process.stdout.write(
    `\ngoal: cutover rps >= ${GOAL_RPS_VS_NGINX}x nginx and p99 <= ${GOAL_P99_VS_NGINX}x nginx: ${allGoalsMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('proxy', {
    command: 'node bench/proxy.ts',
    cutover: CUTOVER_MODE,
    rounds: ROUNDS,
    durationS: DURATION_S,
    wrk: { threads: 2, connections: 50 },
    goal: { rpsVsNginx: GOAL_RPS_VS_NGINX, p99VsNginx: GOAL_P99_VS_NGINX },
    goalMet: allGoalsMet,
    setups: json,
  });
}

runBenchmark('proxy', main);
