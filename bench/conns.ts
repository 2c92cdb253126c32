// Benchmark `conns` (QUALITY.md section 1): resident memory with 10,000 idle keep-alive client
// connections (each made one request, then stays open), cutover vs nginx vs HAProxy, one worker
// each, the same upstream (nginx `return 200`). Memory is the summed RSS of the proxy's process
// tree (master and workers), read from /proc once every connection is open.
//   node bench/conns.ts            (npm run bench:conns)
// Env: BENCH_CONNS (default 10000).
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { ensureTools } from './lib/ensure-tools.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { okServerBlock, proxyServerBlock, startNginx } from './lib/nginx-peer.ts';
import { startHaproxy } from './lib/haproxy-peer.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { openIdleConnections } from './lib/idle-connections.ts';
import { treeRssKib } from './lib/process-rss.ts';
import { round } from './lib/stats.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';

const CONNS = Number(process.env['BENCH_CONNS'] ?? '10000');
const OPEN_BATCH = 1000;
const SETTLE_MS = 500;
const WARM_CONNS = 200;
const GOAL_RSS_VS_NGINX = 2;

type Peer = 'nginx' | 'haproxy' | 'cutover';

interface PeerUnderTest {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

interface PeerResult {
  readonly peer: Peer;
  readonly baselineKib: number;
  readonly loadedKib: number;
  readonly processes: number;
  readonly opened: number;
  readonly openAtSample: number;
  readonly failed: number;
  readonly firstError: string | null;
}

async function measure(peer: Peer, target: PeerUnderTest): Promise<PeerResult> {
  // Warm up first, so the baseline includes what the first requests allocate.
  const warm = await openIdleConnections(target.port, WARM_CONNS, WARM_CONNS);
  warm.closeAll();
  await sleep(SETTLE_MS);
  const baseline = await treeRssKib(target.pid);
  const connections = await openIdleConnections(target.port, CONNS, OPEN_BATCH);
  await sleep(SETTLE_MS);
  const loaded = await treeRssKib(target.pid);
  const openAtSample = connections.openCount();
  connections.closeAll();
  await target.stop();
  const result: PeerResult = {
    peer,
    baselineKib: baseline.kib,
    loadedKib: loaded.kib,
    processes: loaded.processes,
    opened: connections.sockets.length,
    openAtSample,
    failed: connections.failed,
    firstError: connections.firstError,
  };
  process.stderr.write(
    `  ${peer}: ${openAtSample}/${CONNS} open, RSS ${Math.round(loaded.kib / 1024)} MiB (baseline ${Math.round(baseline.kib / 1024)} MiB)\n`,
  );
  return result;
}

async function main(): Promise<void> {
  const tools = ensureTools(['nginx', 'haproxy']);
  const dir = await createTempDir('conns');
  const upstream = await startNginx({
    nginxPath: tools['nginx'] ?? 'nginx',
    dir,
    name: 'upstream',
    workers: 1,
    serverBlock: okServerBlock,
  });
  const upstreamAddress = `127.0.0.1:${upstream.port}`;
  const connectionRoom = CONNS + OPEN_BATCH + 1000;

  const results: PeerResult[] = [];
  const nginx = await startNginx({
    nginxPath: tools['nginx'] ?? 'nginx',
    dir,
    name: 'nginx',
    workers: 1,
    workerConnections: connectionRoom + OPEN_BATCH,
    serverBlock: (port) => proxyServerBlock(port, [upstreamAddress]),
  });
  results.push(
    await measure('nginx', {
      port: nginx.port,
      pid: nginx.child.pid,
      stop: () => nginx.child.stop(),
    }),
  );
  let haproxyError: string | null = null;
  try {
    const haproxy = await startHaproxy({
      haproxyPath: tools['haproxy'] ?? 'haproxy',
      dir,
      name: 'haproxy',
      threads: 1,
      upstreams: [upstreamAddress],
      maxconn: connectionRoom,
    });
    results.push(
      await measure('haproxy', {
        port: haproxy.port,
        pid: haproxy.child.pid,
        stop: () => haproxy.child.stop(),
      }),
    );
  } catch (error) {
    // HAProxy needs about two open files per connection; where the limit is too low and cannot
    // be raised (a container), it refuses to start and is left out of this benchmark.
    haproxyError =
      (error instanceof Error ? error.message : String(error))
        .split('\n')
        .find((line) => line.includes('ALERT')) ?? String(error);
    process.stderr.write(`bench conns: HAProxy left out: ${haproxyError}\n`);
  }
  let cutoverError: string | null = null;
  try {
    const daemon = await startCutoverDaemon({ dir, workers: 1 });
    await deployRelease(daemon, 'bench', 'v1', [upstreamAddress]);
    results.push(
      await measure('cutover', {
        port: daemon.publicPort,
        pid: daemon.child.pid,
        stop: () => daemon.child.stop(),
      }),
    );
  } catch (error) {
    cutoverError = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    process.stderr.write(`bench conns: cutover unavailable: ${String(error)}\n`);
  }

  const nginxKib = results.find((result) => result.peer === 'nginx')?.loadedKib ?? Number.NaN;
  const cutoverResult = results.find((result) => result.peer === 'cutover');
  const ratio = cutoverResult === undefined ? Number.NaN : cutoverResult.loadedKib / nginxKib;
  const rows: Cell[][] = results.map((result) => [
    result.peer,
    `${result.openAtSample}/${CONNS}`,
    result.failed,
    result.processes,
    round(result.baselineKib / 1024, 1),
    round(result.loadedKib / 1024, 1),
    round((result.loadedKib - result.baselineKib) / Math.max(1, result.openAtSample), 2),
    round(result.loadedKib / nginxKib),
  ]);
  printTable(
    `conns: ${CONNS} idle keep-alive client connections (one request each), one worker per proxy`,
    [
      'peer',
      'open at sample',
      'failed',
      'processes',
      'RSS before MiB',
      'RSS with conns MiB',
      'KiB per conn',
      'vs nginx',
    ],
    rows,
  );
  if (haproxyError !== null) process.stdout.write(`HAProxy left out: ${haproxyError}\n`);
  const allOpen = results.every((result) => result.openAtSample === CONNS);
  const goalMet = allOpen && Number.isFinite(ratio) && ratio <= GOAL_RSS_VS_NGINX;
  for (const result of results) {
    if (result.firstError !== null) {
      process.stdout.write(`${result.peer}: first connection error: ${result.firstError}\n`);
    }
  }
  process.stdout.write(
    `\ngoal: cutover RSS <= ${GOAL_RSS_VS_NGINX}x nginx's with every connection open: ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('conns', {
    command: 'node bench/conns.ts',
    connections: CONNS,
    goal: { rssVsNginx: GOAL_RSS_VS_NGINX },
    goalMet,
    rssVsNginx: round(ratio),
    cutoverError,
    haproxyError,
    peers: results,
  });
}

runBenchmark('conns', main);
