// Benchmark `flip` (QUALITY.md section 1): wrk load while cutover flips every 100 ms for 10 s;
// beside it the same load through nginx reloaded (`nginx -s reload`) and HAProxy reloaded
// (master-worker, SIGUSR2) every 100 ms between two upstreams. Once with keep-alive, once with
// a new connection per request (`Connection: close` from a wrk Lua script). Failed = non-2xx
// responses + socket errors (connect, read, write, timeout) as wrk counts them.
//   node bench/flip.ts             (npm run bench:flip)
// 100 switches are due in 10 s; a switch slower than 100 ms delays the rest, which may then run
// up to 2 s late (the load still runs), and none starts after that.
// Env: BENCH_FLIP_SECONDS (default 10), BENCH_FLIP_INTERVAL_MS (default 100).
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { ensureTools } from './lib/ensure-tools.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { proxyServerBlock, startNginx } from './lib/nginx-peer.ts';
import { startHaproxy } from './lib/haproxy-peer.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { runPeriodically, type PeriodicReport } from './lib/periodic.ts';
import { runWrk, writeConnectionCloseScript, type WrkResult } from './lib/wrk.ts';
import { median, percentile, round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const FLIP_SECONDS = Number(process.env['BENCH_FLIP_SECONDS'] ?? '10');
const INTERVAL_MS = Number(process.env['BENCH_FLIP_INTERVAL_MS'] ?? '100');
/** wrk starts before the first flip and ends after the last, so every flip is under load. */
const LOAD_MARGIN_MS = 500;
/** How late the last switches may run when some took longer than the interval. */
const LATE_ALLOWANCE_MS = 2000;
const SWITCHES = Math.floor((FLIP_SECONDS * 1000) / INTERVAL_MS);
const CONNECTIONS = 50;

type Peer = 'cutover' | 'nginx' | 'haproxy';
type Mode = 'keep-alive' | 'new connection per request';

interface Switcher {
  readonly url: string;
  readonly what: string;
  switchTo(index: number): Promise<void>;
}

interface RunResult {
  readonly mode: Mode;
  readonly peer: Peer;
  readonly what: string;
  readonly wrk: WrkResult;
  readonly switches: PeriodicReport;
}

async function main(): Promise<void> {
  const tools = ensureTools(['nginx', 'haproxy', 'wrk']);
  const dir = await createTempDir('flip');
  const workers = availableParallelism();
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const upstreams = [v1.address, v2.address] as const;

  let cutover: Switcher | null = null;
  let cutoverError: string | null = null;
  try {
    const daemon = await startCutoverDaemon({ dir, workers });
    await deployRelease(daemon, 'bench', 'v1', [v1.address]);
    await deployRelease(daemon, 'bench', 'v2', [v2.address]);
    cutover = {
      url: daemon.publicUrl,
      what: 'flips (POST /v1/apps/bench/flip)',
      switchTo: async () => {
        await daemon.adminOk('POST', '/v1/apps/bench/flip', {});
      },
    };
  } catch (error) {
    cutoverError = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    process.stderr.write(`bench flip: cutover unavailable: ${String(error)}\n`);
  }
  const nginx = await startNginx({
    nginxPath: tools['nginx'] ?? 'nginx',
    dir,
    name: 'nginx',
    workers,
    serverBlock: (port) => proxyServerBlock(port, [upstreams[0]]),
  });
  const haproxy = await startHaproxy({
    haproxyPath: tools['haproxy'] ?? 'haproxy',
    dir,
    name: 'haproxy',
    threads: workers,
    upstreams: [upstreams[0]],
  });

  const switchers: Partial<Record<Peer, Switcher>> = {
    ...(cutover === null ? {} : { cutover }),
    nginx: {
      url: nginx.url,
      what: 'reloads (nginx -s reload)',
      switchTo: (index) =>
        nginx.reload(proxyServerBlock(nginx.port, [upstreams[(index + 1) % 2] ?? v1.address])),
    },
    haproxy: {
      url: haproxy.url,
      what: 'reloads (master-worker SIGUSR2)',
      switchTo: (index) => haproxy.reload([upstreams[(index + 1) % 2] ?? v1.address]),
    },
  };

  const closeScript = await writeConnectionCloseScript(dir);
  const modes: Mode[] = ['keep-alive', 'new connection per request'];
  const peers = (['cutover', 'nginx', 'haproxy'] as const).filter(
    (peer) => switchers[peer] !== undefined,
  );
  const results: RunResult[] = [];
  for (const [modeIndex, mode] of modes.entries()) {
    // Alternate the order between modes so no peer always runs first on a noisy machine.
    const order = modeIndex % 2 === 0 ? peers : [...peers].reverse();
    for (const peer of order) {
      const switcher = switchers[peer];
      if (switcher === undefined) continue;
      const load = runWrk(tools['wrk'] ?? 'wrk', {
        url: switcher.url,
        threads: 2,
        connections: CONNECTIONS,
        durationS: (FLIP_SECONDS * 1000 + LATE_ALLOWANCE_MS + 2 * LOAD_MARGIN_MS) / 1000,
        ...(mode === 'keep-alive' ? {} : { script: closeScript }),
      });
      await sleep(LOAD_MARGIN_MS);
      const switches = await runPeriodically(
        INTERVAL_MS,
        SWITCHES,
        FLIP_SECONDS * 1000 + LATE_ALLOWANCE_MS,
        (index) => switcher.switchTo(index),
      );
      const wrk = await load;
      results.push({ mode, peer, what: switcher.what, wrk, switches });
      process.stderr.write(
        `  ${mode} ${peer}: ${wrk.requests} requests, ${wrk.failed} failed, ${switches.done} ${switcher.what}, ${switches.errors} switch errors\n`,
      );
      // Let reloaded peers finish their old workers before the next run.
      await sleep(1000);
    }
  }

  const rows: Cell[][] = results.map((result) => [
    result.mode,
    result.peer,
    result.wrk.requests,
    result.wrk.failed,
    result.wrk.errors.non2xx,
    `${result.wrk.errors.connect}/${result.wrk.errors.read}/${result.wrk.errors.write}/${result.wrk.errors.timeout}`,
    result.switches.done,
    result.switches.errors,
    round(median(result.switches.durationsMs)),
    round(percentile(result.switches.durationsMs, 100)),
    round(result.switches.elapsedMs / 1000),
  ]);
  printTable(
    `flip: wrk -t2 -c${CONNECTIONS}, a flip or reload every ${INTERVAL_MS} ms for ${FLIP_SECONDS} s, ${workers} workers each`,
    [
      'mode',
      'peer',
      'requests',
      'failed',
      'non-2xx',
      'conn/read/write/timeout',
      'flips|reloads',
      'switch errors',
      'switch ms p50',
      'switch ms max',
      'in s',
    ],
    rows,
  );
  const cutoverRuns = results.filter((result) => result.peer === 'cutover');
  const minFlips = SWITCHES;
  const goalMet =
    cutoverRuns.length > 0 &&
    cutoverRuns.every(
      (result) =>
        result.wrk.failed === 0 && result.switches.errors === 0 && result.switches.done >= minFlips,
    );
  process.stdout.write(
    `\ngoal: cutover 0 failed requests over >= ${minFlips} flips in both modes: ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  for (const result of results) {
    if (result.switches.firstError !== null) {
      process.stdout.write(
        `${result.peer} (${result.mode}) first switch error: ${result.switches.firstError}\n`,
      );
    }
  }
  await writeResult('flip', {
    command: 'node bench/flip.ts',
    workers,
    intervalMs: INTERVAL_MS,
    flipSeconds: FLIP_SECONDS,
    connections: CONNECTIONS,
    goalMet,
    cutoverError,
    runs: results.map((result) => ({
      mode: result.mode,
      peer: result.peer,
      requests: result.wrk.requests,
      failed: result.wrk.failed,
      errors: result.wrk.errors,
      switches: result.switches.done,
      switchKind: result.what,
      switchErrors: result.switches.errors,
      switchMsP50: round(median(result.switches.durationsMs)),
      switchMsMax: round(percentile(result.switches.durationsMs, 100)),
      switchSeconds: round(result.switches.elapsedMs / 1000),
    })),
  });
}

runBenchmark('flip', main);
