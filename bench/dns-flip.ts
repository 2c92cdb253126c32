// Benchmark `dns-flip` (issue 5, DNS switching): what a flip over DNS costs next to the router
// flip, in the same run, alternating. A throwaway BIND 9 on loopback holds the record; the
// daemon runs with --dns-config for app `bench` (a listener per color on 127.0.0.2/.3) and
// routes app `router` (catch-all) on its public listener as usual.
//   node bench/dns-flip.ts         (npm run bench:dns)
// Per round:
// - router flip: ms from the flip command to the first / every response from the new release
//   (keep-alive pollers on the public listener, as bench:rollback);
// - DNS flip at the normal TTL (a manual `cutover flip`), then a rollback inside the drain window,
//   at the low TTL: ms from the command until the server answers the new address (a query to the
//   server itself: server-side propagation), and the client view: clients that cache the record
//   for its TTL, their expiries spread evenly, each asking `/` every 20 ms: ms until each of them
//   reaches the new release, and how many requests still reached the old color (stragglers).
// Env: BENCH_DNS_ROUNDS (default 3), BENCH_DNS_TTL (s, default 6), BENCH_DNS_LOW_TTL (s, default
// 1), BENCH_DNS_CLIENTS (default 20).
import { Resolver } from 'node:dns/promises';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dig, portFreeOn, startBind } from '../test/helpers/bind.ts';
import { onCleanup, runBenchmark } from './lib/cleanup.ts';
import { deployRelease, startCutoverDaemon, type CutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { startReleasePoller } from './lib/release-poller.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';
import { measureRollback, releaseOf } from './lib/rollback-timing.ts';
import { median, round } from './lib/stats.ts';
import { createTempDir } from './lib/temp-dir.ts';

const ROUNDS = Number(process.env['BENCH_DNS_ROUNDS'] ?? '3');
const TTL_S = Number(process.env['BENCH_DNS_TTL'] ?? '6');
const LOW_TTL_S = Number(process.env['BENCH_DNS_LOW_TTL'] ?? '1');
const CLIENTS = Number(process.env['BENCH_DNS_CLIENTS'] ?? '20');
// Long enough that the rollback measured right after a flip still falls before the drain.
const MARGIN_MS = 3000;
const CLIENT_INTERVAL_MS = 20;
const QUERY_INTERVAL_MS = 2;
const RECORD = 'bench.example.test.';
const BLUE = '127.0.0.2';
const GREEN = '127.0.0.3';
const POLL_CONNECTIONS = 4;

interface ClientSample {
  readonly client: number;
  readonly at: number;
  readonly release: string;
}

/** A client that resolves the record, keeps the answer for its TTL, and asks `/` meanwhile. */
function startCachingClients(
  resolver: Resolver,
  port: number,
): {
  samples: ClientSample[];
  errors: () => number;
  respread: () => void;
  stop: () => Promise<void>;
} {
  const samples: ClientSample[] = [];
  let errors = 0;
  let running = true;
  // When set, client i asks again at that time instead of its expiry (re-spreading the expiries
  // that a short TTL lined up).
  const askAgainAt: (number | null)[] = Array.from({ length: CLIENTS }, () => null);
  const get = (address: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request({ host: address, port, path: '/', agent: false }, (res) => {
        res.resume();
        const header = res.headers['x-release'];
        res.on('end', () =>
          resolve(typeof header === 'string' ? header : `status ${res.statusCode}`),
        );
      });
      req.on('error', reject);
      req.end();
    });
  const loops = Array.from({ length: CLIENTS }, async (_, client) => {
    // Spread the clients' expiries evenly over one TTL, as real clients' are.
    await sleep(((TTL_S * 1000) / CLIENTS) * client);
    let cached: { address: string; expiresAt: number } | null = null;
    while (running) {
      try {
        const again = askAgainAt[client] ?? null;
        if (again !== null && performance.now() >= again) {
          askAgainAt[client] = null;
          cached = null;
        }
        if (cached === null || performance.now() >= cached.expiresAt) {
          const [answer] = await resolver.resolve4(RECORD, { ttl: true });
          if (answer === undefined) throw new Error('no address');
          cached = { address: answer.address, expiresAt: performance.now() + answer.ttl * 1000 };
        }
        samples.push({ client, at: performance.now(), release: await get(cached.address) });
      } catch {
        errors += 1;
      }
      await sleep(CLIENT_INTERVAL_MS);
    }
  });
  return {
    samples,
    errors: () => errors,
    respread: () => {
      const now = performance.now();
      for (let client = 0; client < CLIENTS; client += 1) {
        askAgainAt[client] = now + ((TTL_S * 1000) / CLIENTS) * client;
      }
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function stragglersOf(daemon: CutoverDaemon, color: string): Promise<number> {
  const status = (await daemon.adminOk('GET', '/v1/apps/bench')) as {
    colors: Record<string, { stragglers?: number }>;
  };
  return status.colors[color]?.stragglers ?? 0;
}

interface DnsFlip {
  readonly kind: 'flip at the normal TTL' | 'rollback at the low TTL';
  readonly ttlAtFlip: number;
  readonly commandMs: number;
  readonly propagationMs: number;
  readonly clientMedianMs: number;
  readonly clientMaxMs: number;
  readonly clientStragglers: number;
  readonly statusStragglers: number;
}

async function measureDnsFlip(
  daemon: CutoverDaemon,
  resolver: Resolver,
  clients: ReturnType<typeof startCachingClients>,
  kind: DnsFlip['kind'],
  path: string,
): Promise<DnsFlip> {
  const before = (await resolver.resolve4(RECORD, { ttl: true }))[0];
  const oldColor = before?.address === BLUE ? 'blue' : 'green';
  const stragglersBefore = await stragglersOf(daemon, oldColor);
  const from = clients.samples.length;
  const start = performance.now();
  const response = await daemon.adminOk('POST', path, { waitDrain: false });
  const commandMs = performance.now() - start;
  const to = releaseOf(response);
  const newAddress = before?.address === BLUE ? GREEN : BLUE;
  let propagationMs = Infinity;
  while (performance.now() - start < 5000) {
    const [answer] = await resolver.resolve4(RECORD, { ttl: true });
    if (answer?.address === newAddress) {
      propagationMs = performance.now() - start;
      break;
    }
    await sleep(QUERY_INTERVAL_MS);
  }
  // Every client reaches the new release within the TTL it cached (plus a request interval).
  const deadline = start + ((before?.ttl ?? TTL_S) + 2) * 1000;
  const firstNew = new Map<number, number>();
  while (performance.now() < deadline && firstNew.size < CLIENTS) {
    for (const sample of clients.samples.slice(from)) {
      if (sample.at >= start && sample.release === to && !firstNew.has(sample.client)) {
        firstNew.set(sample.client, sample.at - start);
      }
    }
    await sleep(50);
  }
  const views = [...firstNew.values()];
  if (views.length < CLIENTS)
    throw new Error(`${CLIENTS - views.length} clients never reached ${to}`);
  const clientStragglers = clients.samples
    .slice(from)
    .filter((sample) => sample.at >= start + commandMs && sample.release !== to).length;
  return {
    kind,
    ttlAtFlip: before?.ttl ?? -1,
    commandMs,
    propagationMs,
    clientMedianMs: median(views),
    clientMaxMs: Math.max(...views),
    clientStragglers,
    statusStragglers: (await stragglersOf(daemon, oldColor)) - stragglersBefore,
  };
}

/** Waits until the record has the normal TTL again (the old color drained). */
async function settle(bind: { host: string; port: number }): Promise<void> {
  const deadline = Date.now() + (TTL_S * 2 + 10) * 1000;
  while (Date.now() < deadline) {
    if ((await dig(bind, RECORD)).ttl === TTL_S) return;
    await sleep(100);
  }
  throw new Error('the record never got its normal TTL back');
}

async function main(): Promise<void> {
  const dir = await createTempDir('dns-flip');
  const bind = await startBind();
  onCleanup(() => bind.stop());
  const port = await portFreeOn([BLUE, GREEN]);
  const configFile = join(dir, 'dns.yaml');
  await writeFile(
    configFile,
    [
      `server: ${bind.server}`,
      `key: { name: ${bind.key.name}, algorithm: hmac-sha256, secretFile: ${bind.secretFile} }`,
      'apps:',
      '  bench:',
      `    zone: ${bind.zone}`,
      `    record: ${RECORD}`,
      `    ttl: ${TTL_S}`,
      `    lowTtl: ${LOW_TTL_S}`,
      `    margin: ${MARGIN_MS}ms`,
      `    colors: { blue: "${BLUE}:${port}", green: "${GREEN}:${port}" }`,
      '',
    ].join('\n'),
  );
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const daemon = await startCutoverDaemon({ dir, extraArgs: ['--dns-config', configFile] });
  const health = { path: '/', intervalMs: 100, timeoutMs: 1000, rise: 1, fall: 3 };
  for (const release of [v1, v2]) {
    await daemon.adminOk('POST', '/v1/apps/bench/deploy', {
      release: release.release,
      instances: [release.address],
      hosts: ['bench.test'],
      health,
      healthTimeoutMs: 15_000,
    });
    await deployRelease(daemon, 'router', release.release, [release.address]);
  }
  await settle(bind);

  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${bind.port}`]);
  const clients = startCachingClients(resolver, port);
  const poller = startReleasePoller(daemon.publicPort, POLL_CONNECTIONS);
  await sleep(TTL_S * 1000 + 500);

  const dns: DnsFlip[] = [];
  const router: { firstMs: number; allMs: number; commandMs: number }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    router.push(
      await measureRollback(poller, 'router', () =>
        daemon.adminOk('POST', '/v1/apps/router/flip', {}),
      ),
    );
    dns.push(
      await measureDnsFlip(
        daemon,
        resolver,
        clients,
        'flip at the normal TTL',
        '/v1/apps/bench/flip',
      ),
    );
    router.push(
      await measureRollback(poller, 'router', () =>
        daemon.adminOk('POST', '/v1/apps/router/flip', {}),
      ),
    );
    dns.push(
      await measureDnsFlip(
        daemon,
        resolver,
        clients,
        'rollback at the low TTL',
        '/v1/apps/bench/rollback',
      ),
    );
    await settle(bind);
    clients.respread();
    await sleep(TTL_S * 1000 + 500);
  }
  await clients.stop();
  await poller.stop();

  const summary = (kind: DnsFlip['kind']): Record<string, number> => {
    const rows = dns.filter((row) => row.kind === kind);
    return {
      flips: rows.length,
      ttlAtFlipS: median(rows.map((row) => row.ttlAtFlip)),
      commandMsMedian: round(median(rows.map((row) => row.commandMs))),
      propagationMsMedian: round(median(rows.map((row) => row.propagationMs))),
      propagationMsMax: round(Math.max(...rows.map((row) => row.propagationMs))),
      clientMsMedian: round(median(rows.map((row) => row.clientMedianMs))),
      clientMsMax: round(Math.max(...rows.map((row) => row.clientMaxMs))),
      clientStragglersMedian: median(rows.map((row) => row.clientStragglers)),
      statusStragglersMedian: median(rows.map((row) => row.statusStragglers)),
    };
  };
  const normal = summary('flip at the normal TTL');
  const low = summary('rollback at the low TTL');
  const routerSummary = {
    flips: router.length,
    commandMsMedian: round(median(router.map((row) => row.commandMs))),
    firstMsMedian: round(median(router.map((row) => row.firstMs))),
    allMsMedian: round(median(router.map((row) => row.allMs))),
    allMsMax: round(Math.max(...router.map((row) => row.allMs))),
  };
  const dnsRow = (name: string, s: Record<string, number>): Cell[] => [
    name,
    s['flips'] ?? 0,
    s['ttlAtFlipS'] ?? null,
    s['commandMsMedian'] ?? null,
    s['propagationMsMedian'] ?? null,
    s['propagationMsMax'] ?? null,
    s['clientMsMedian'] ?? null,
    s['clientMsMax'] ?? null,
    s['clientStragglersMedian'] ?? null,
    s['statusStragglersMedian'] ?? null,
  ];
  printTable(
    `dns-flip: ${CLIENTS} TTL-respecting clients every ${CLIENT_INTERVAL_MS} ms; ttl ${TTL_S} s, lowTtl ${LOW_TTL_S} s, margin ${MARGIN_MS} ms; ${ROUNDS} rounds alternating with router flips`,
    [
      'switch',
      'flips',
      'TTL at flip s',
      'command ms p50',
      'server answers new ms p50',
      'server ms max',
      'clients moved ms p50',
      'clients moved ms max',
      'stragglers (clients) p50',
      'stragglers (status) p50',
    ],
    [
      dnsRow('DNS flip (manual, normal TTL)', normal),
      dnsRow('DNS rollback (low TTL, in the drain window)', low),
      [
        'router flip (public listener)',
        routerSummary.flips,
        null,
        routerSummary.commandMsMedian,
        null,
        null,
        routerSummary.allMsMedian,
        routerSummary.allMsMax,
        0,
        null,
      ],
    ],
  );
  process.stdout.write(
    `\nclient request errors: ${clients.errors()}; router: first response from the new release ${routerSummary.firstMsMedian} ms (p50)\n` +
      `client view / router flip (p50 ratio): normal TTL ${round((normal['clientMsMedian'] ?? 0) / routerSummary.allMsMedian, 0)}x, low TTL ${round((low['clientMsMedian'] ?? 0) / routerSummary.allMsMedian, 0)}x\n`,
  );
  await writeResult('dns-flip', {
    command: 'node bench/dns-flip.ts',
    ttlS: TTL_S,
    lowTtlS: LOW_TTL_S,
    marginMs: MARGIN_MS,
    clients: CLIENTS,
    rounds: ROUNDS,
    clientErrors: clients.errors(),
    dnsNormalTtl: normal,
    dnsLowTtl: low,
    router: routerSummary,
    flips: dns.map((row) => ({
      ...row,
      commandMs: round(row.commandMs),
      propagationMs: round(row.propagationMs),
      clientMedianMs: round(row.clientMedianMs),
      clientMaxMs: round(row.clientMaxMs),
    })),
  });
}

runBenchmark('dns-flip', main);
