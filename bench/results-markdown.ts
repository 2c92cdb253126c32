// Prints the latest bench/results/*.json as the Markdown tables of docs/benchmarks.md, so the
// figures in the docs are exactly the ones a run produced.
//   node bench/results-markdown.ts
import { readFile } from 'node:fs/promises';

type Json = Record<string, unknown>;

async function load(name: string): Promise<Json | null> {
  try {
    return JSON.parse(
      await readFile(new URL(`./results/${name}.json`, import.meta.url), 'utf8'),
    ) as Json;
  } catch {
    return null;
  }
}

function table(header: readonly string[], rows: readonly unknown[][]): string {
  const cell = (value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    return JSON.stringify(value);
  };
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

function get(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

function runLine(result: Json): string {
  return `Run ${String(result['date'])}, commit ${String(get(result, 'machine', 'commit'))}, 1-minute load average at the end ${String(get(result, 'machine', 'loadAverage1m'))}; goal ${result['goalMet'] === true ? '**met**' : '**not met**'}.`;
}

const out: string[] = [];
const proxy = await load('proxy');
if (proxy !== null) {
  out.push('### proxy', '', `\`${String(proxy['command'])}\` — ${runLine(proxy)}`, '');
  const rows: unknown[][] = [];
  for (const setup of (proxy['setups'] as Json[] | undefined) ?? []) {
    for (const target of ['direct', 'nginx', 'haproxy', 'cutover']) {
      const t = get(setup, 'targets', target);
      if (t === undefined) continue;
      rows.push([
        setup['setup'],
        target,
        get(t, 'rps'),
        get(t, 'p50Ms'),
        get(t, 'p99Ms'),
        get(t, 'failed'),
      ]);
    }
  }
  out.push(table(['setup', 'target', 'req/s', 'p50 ms', 'p99 ms', 'failed'], rows), '');
  out.push(
    table(
      [
        'setup',
        'rps cutover/nginx',
        'p99 cutover/nginx',
        'rps cutover/HAProxy',
        'p99 cutover/HAProxy',
      ],
      ((proxy['setups'] as Json[] | undefined) ?? []).map((setup) => [
        setup['setup'],
        get(setup, 'ratios', 'rpsVsNginx'),
        get(setup, 'ratios', 'p99VsNginx'),
        get(setup, 'ratios', 'rpsVsHaproxy'),
        get(setup, 'ratios', 'p99VsHaproxy'),
      ]),
    ),
    '',
  );
}
const flip = await load('flip');
if (flip !== null) {
  out.push('### flip', '', `\`${String(flip['command'])}\` — ${runLine(flip)}`, '');
  out.push(
    table(
      [
        'mode',
        'peer',
        'requests',
        'failed',
        'connect/read/write/timeout',
        'non-2xx',
        'switches',
        'switch ms p50',
        'in s',
      ],
      ((flip['runs'] as Json[] | undefined) ?? []).map((run) => [
        run['mode'],
        run['peer'],
        run['requests'],
        `**${String(run['failed'])}**`,
        `${String(get(run, 'errors', 'connect'))}/${String(get(run, 'errors', 'read'))}/${String(get(run, 'errors', 'write'))}/${String(get(run, 'errors', 'timeout'))}`,
        get(run, 'errors', 'non2xx'),
        `${String(run['switches'])} ${String(run['switchKind'])}`,
        run['switchMsP50'],
        run['switchSeconds'],
      ]),
    ),
    '',
  );
}
const rollback = await load('rollback');
if (rollback !== null) {
  out.push('### rollback', '', `\`${String(rollback['command'])}\` — ${runLine(rollback)}`, '');
  out.push(
    table(
      [
        'via',
        'rollbacks',
        'first ms p50',
        'first ms max',
        '100 % ms p50',
        '100 % ms max',
        'command ms p50',
        'daemon flip ms p50',
        'daemon flip ms max',
      ],
      (['adminApi', 'cli'] as const).map((key) => [
        key === 'adminApi' ? 'admin API' : 'cutover rollback CLI (includes Node start)',
        get(rollback, key, 'count'),
        get(rollback, key, 'firstMsMedian'),
        get(rollback, key, 'firstMsMax'),
        get(rollback, key, 'allMsMedian'),
        get(rollback, key, 'allMsMax'),
        get(rollback, key, 'commandMsMedian'),
        get(rollback, key, 'reportedMsMedian'),
        get(rollback, key, 'reportedMsMax'),
      ]),
    ),
    '',
    `Polled responses: ${String(rollback['polledResponses'])}, failed: ${String(rollback['failedPolls'])}.`,
    '',
  );
}
const drain = await load('drain');
if (drain !== null) {
  out.push('### drain', '', `\`${String(drain['command'])}\` — ${runLine(drain)}`, '');
  out.push(
    table(
      [
        'in flight at the flip',
        'flip ms',
        'done when the flip returned',
        'byte-exact on old',
        'failed',
        'after the flip on new',
        'last done ms after the flip',
      ],
      [
        [
          drain['inflightAtFlip'],
          drain['flipMs'],
          drain['completedAtFlipReturn'],
          `${String(drain['byteExact'])}/${String(drain['slowRequests'])}`,
          drain['failed'],
          `${String(drain['afterFlipOnNewRelease'])}/${String(drain['afterFlipRequests'])}`,
          drain['lastDoneMsAfterFlip'],
        ],
      ],
    ),
    '',
  );
}
const websocket = await load('websocket');
if (websocket !== null) {
  out.push('### websocket', '', `\`${String(websocket['command'])}\` — ${runLine(websocket)}`, '');
  out.push(
    table(
      [
        'open on old',
        'flip ms',
        'new on new',
        'old echoing after the flip',
        'closed 1001',
        'closed otherwise',
        'close ms after the flip (min/median/max)',
      ],
      [
        [
          `${String(websocket['openedOnOld'])}/${String(websocket['sockets'])}`,
          websocket['flipMs'],
          `${String(websocket['newOnNewRelease'])}/${String(websocket['newSockets'])}`,
          `${String(websocket['echoedDuringGrace'])}/${String(websocket['sockets'])}`,
          websocket['closedPolitely'],
          websocket['closedOtherwise'],
          `${String(websocket['closeMsMin'])} / ${String(websocket['closeMsMedian'])} / ${String(websocket['closeMsMax'])}`,
        ],
      ],
    ),
    '',
  );
}
const conns = await load('conns');
if (conns !== null) {
  out.push('### conns', '', `\`${String(conns['command'])}\` — ${runLine(conns)}`, '');
  const peers = (conns['peers'] as Json[] | undefined) ?? [];
  const nginxKib = Number(peers.find((peer) => peer['peer'] === 'nginx')?.['loadedKib']);
  out.push(
    table(
      ['peer', 'open at sample', 'RSS before MiB', 'RSS with conns MiB', 'vs nginx'],
      peers.map((peer) => [
        peer['peer'],
        `${String(peer['openAtSample'])}/${String(conns['connections'])}`,
        Math.round(Number(peer['baselineKib']) / 102.4) / 10,
        Math.round(Number(peer['loadedKib']) / 102.4) / 10,
        Math.round((Number(peer['loadedKib']) / nginxKib) * 100) / 100,
      ]),
    ),
    '',
  );
  if (typeof conns['haproxyError'] === 'string') {
    out.push(`HAProxy left out: \`${conns['haproxyError']}\``, '');
  }
}
const rollbackCli = await load('rollback-cli');
if (rollbackCli !== null) {
  out.push(
    '### rollback through the CLI',
    '',
    `\`${String(rollbackCli['command'])}\` — ${runLine(rollbackCli)} The CLI run (spawn to exit) < 100 ms, every rollback: ${rollbackCli['commandGoalMet'] === true ? '**met**' : '**not met**'}.`,
    '',
  );
  const labels = {
    cliWarm: 'cutover rollback CLI, compile cache warm',
    cliCold: 'cutover rollback CLI, compile cache empty',
    adminApi: 'admin API (same rounds)',
  } as const;
  out.push(
    table(
      [
        'via',
        'rollbacks',
        'first ms p50',
        'first ms max',
        '100 % ms p50',
        '100 % ms max',
        'command ms p50',
        'command ms max',
        'daemon flip ms p50',
      ],
      (['cliWarm', 'cliCold', 'adminApi'] as const).map((key) => [
        labels[key],
        get(rollbackCli, key, 'count'),
        get(rollbackCli, key, 'firstMsMedian'),
        get(rollbackCli, key, 'firstMsMax'),
        get(rollbackCli, key, 'allMsMedian'),
        get(rollbackCli, key, 'allMsMax'),
        get(rollbackCli, key, 'commandMsMedian'),
        get(rollbackCli, key, 'commandMsMax'),
        get(rollbackCli, key, 'reportedMsMedian'),
      ]),
    ),
    '',
    `Without the pollers (${String(get(rollbackCli, 'quiet', 'rollbacks'))} more rollbacks, the bench adding no load): \`cutover rollback\` from spawn to exit median ${String(get(rollbackCli, 'quiet', 'commandMs', 'median'))} ms, max ${String(get(rollbackCli, 'quiet', 'commandMs', 'max'))} ms (goal < 100 ms: ${rollbackCli['commandGoalQuietMet'] === true ? '**met**' : '**not met**'}); bare Node start median ${String(get(rollbackCli, 'quiet', 'nodeStartMs', 'median'))} ms, max ${String(get(rollbackCli, 'quiet', 'nodeStartMs', 'max'))} ms.`,
    '',
    `CPU per run (user + system, mean over every run): \`cutover rollback\` ${String(get(rollbackCli, 'cpuMsMean', 'cli'))} ms (compile cache empty: ${String(get(rollbackCli, 'cpuMsMean', 'cliCold'))} ms), bare Node start ${String(get(rollbackCli, 'cpuMsMean', 'nodeStart'))} ms.`,
    '',
    `Bare Node start (\`node -e 0\`) in the same rounds: median ${String(get(rollbackCli, 'nodeStartMs', 'median'))} ms, max ${String(get(rollbackCli, 'nodeStartMs', 'max'))} ms; the CLI run minus its round's bare Node start: median ${String(rollbackCli['cliMinusNodeStartMsMedian'])} ms. Polled responses: ${String(rollbackCli['polledResponses'])}, failed: ${String(rollbackCli['failedPolls'])}.`,
    '',
  );
}
const deploy = await load('deploy');
if (deploy !== null) {
  out.push(
    '### deploy',
    '',
    `\`${String(deploy['command'])}\` — ${runLine(deploy)} Counting the old standby's retirement as the app's: ${deploy['goalWithoutRetireMet'] === true ? '**met**' : '**not met**'}.`,
    '',
  );
  const appParts = (deploy['appParts'] as string[] | undefined) ?? [];
  const steps = (deploy['steps'] as Json | undefined) ?? {};
  const line = (label: string, value: unknown): unknown[] => [
    label,
    get(value, 'median'),
    get(value, 'max'),
    get(value, 'min'),
  ];
  out.push(
    table(
      ['step / part', 'ms median', 'ms max', 'ms min'],
      [
        ...Object.entries(steps).map(([name, value]) => line(name, value)),
        line('total', deploy['totalMs']),
        ...appParts.map((part) => line(`app: ${part}`, get(deploy, 'app', part))),
        line(`app (${appParts.join(' + ')})`, deploy['appMs']),
        line('**cutover overhead** (total - app)', deploy['overheadMs']),
        line(
          'overhead without retiring the standby (- report.start.retireMs)',
          deploy['overheadWithoutRetireMs'],
        ),
        line('request accepted (POST answered)', deploy['acceptedMs']),
      ],
    ),
    '',
    `${String(deploy['deployments'])} deployments alternating v2/v1 after a first v1; the first (onto an empty app): total ${String(get(deploy, 'first', 'totalMs'))} ms, overhead ${String(get(deploy, 'first', 'overheadMs'))} ms.`,
    '',
  );
}
process.stdout.write(`${out.join('\n')}\n`);
