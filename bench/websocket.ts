// Benchmark `websocket` (QUALITY.md section 1): 1,000 open WebSockets on the old color at the
// flip. They must keep working during the grace, then all be closed politely (close frame 1001,
// never a reset), and new WebSockets opened after the flip must land on the new color.
//   node bench/websocket.ts        (npm run bench:websocket)
// Env: BENCH_WEBSOCKETS (default 1000), BENCH_WS_WAIT_MS (default 30000: longer than the
// daemon's default grace of 10 s).
import { availableParallelism } from 'node:os';
import WebSocket from 'ws';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { readAppStatus } from './lib/app-status.ts';
import { median, percentile, round } from './lib/stats.ts';
import { printTable, writeResult } from './lib/report.ts';

const SOCKETS = Number(process.env['BENCH_WEBSOCKETS'] ?? '1000');
const CLOSE_WAIT_MS = Number(process.env['BENCH_WS_WAIT_MS'] ?? '30000');
const NEW_SOCKETS = 50;
const OPEN_BATCH = 100;
const OPEN_TIMEOUT_MS = 10_000;

interface TrackedSocket {
  readonly socket: WebSocket;
  readonly release: string;
  readonly closed: Promise<{ code: number; at: number; error: string | null }>;
  /** Resolves with the next message received. */
  nextMessage(): Promise<string>;
}

function openSocket(url: string): Promise<TrackedSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const queue: string[] = [];
    const waiters: ((message: string) => void)[] = [];
    let error: string | null = null;
    socket.on('message', (data: WebSocket.RawData) => {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.from(new Uint8Array(data)).toString('utf8');
      const waiter = waiters.shift();
      if (waiter === undefined) queue.push(text);
      else waiter(text);
    });
    socket.on('error', (cause) => {
      error ??= cause.message;
    });
    const closed = new Promise<{ code: number; at: number; error: string | null }>((done) => {
      socket.on('close', (code) => done({ code, at: performance.now(), error }));
    });
    const nextMessage = (): Promise<string> => {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise((done) => waiters.push(done));
    };
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`WebSocket to ${url} not open after ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    socket.once('open', () => {
      void nextMessage().then((greeting) => {
        clearTimeout(timer);
        resolve({ socket, release: greeting.replace(/^release:/, ''), closed, nextMessage });
      });
    });
    socket.once('error', (cause) => {
      clearTimeout(timer);
      reject(cause);
    });
  });
}

async function openMany(url: string, count: number): Promise<TrackedSocket[]> {
  const sockets: TrackedSocket[] = [];
  for (let i = 0; i < count; i += OPEN_BATCH) {
    const batch = Math.min(OPEN_BATCH, count - i);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openSocket(url)))));
  }
  return sockets;
}

async function echoes(sockets: readonly TrackedSocket[], tag: string): Promise<number> {
  const results = await Promise.all(
    sockets.map(async (tracked, i) => {
      if (tracked.socket.readyState !== WebSocket.OPEN) return false;
      const text = `${tag}-${i}`;
      tracked.socket.send(text);
      const reply = await Promise.race([
        tracked.nextMessage(),
        new Promise<string>((done) => setTimeout(() => done(''), 5000)),
      ]);
      return reply === text;
    }),
  );
  return results.filter(Boolean).length;
}

async function main(): Promise<void> {
  const dir = await createTempDir('websocket');
  const workers = availableParallelism();
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const daemon = await startCutoverDaemon({ dir, workers });
  await deployRelease(daemon, 'bench', 'v1', [v1.address]);
  await deployRelease(daemon, 'bench', 'v2', [v2.address]);
  const url = `ws://127.0.0.1:${daemon.publicPort}/`;
  const oldRelease = 'v2';
  const newRelease = 'v1';

  const old = await openMany(url, SOCKETS);
  const oldOnOld = old.filter((tracked) => tracked.release === oldRelease).length;
  const statusBefore = await readAppStatus(daemon, 'bench');
  const websocketsBefore =
    statusBefore.live === null ? 0 : statusBefore.colors[statusBefore.live].websockets;

  const flipStart = performance.now();
  await daemon.adminOk('POST', '/v1/apps/bench/flip', {});
  const flipAt = performance.now();
  const flipMs = flipAt - flipStart;

  const fresh = await openMany(url, NEW_SOCKETS);
  const freshOnNew = fresh.filter((tracked) => tracked.release === newRelease).length;
  const echoedDuringGrace = await echoes(old, 'grace');

  const closes = await Promise.race([
    Promise.all(old.map((tracked) => tracked.closed)),
    new Promise<null>((done) => setTimeout(() => done(null), CLOSE_WAIT_MS)),
  ]);
  const closedNow = closes ?? [];
  const polite = closedNow.filter((close) => close.code === 1001 && close.error === null).length;
  const otherCodes = new Map<string, number>();
  for (const close of closedNow) {
    if (close.code === 1001 && close.error === null) continue;
    const key = `${close.code}${close.error === null ? '' : ` (${close.error})`}`;
    otherCodes.set(key, (otherCodes.get(key) ?? 0) + 1);
  }
  const closeMs = closedNow.map((close) => close.at - flipAt);
  const freshStillOpen = fresh.filter(
    (tracked) => tracked.socket.readyState === WebSocket.OPEN,
  ).length;
  for (const tracked of [...old, ...fresh]) tracked.socket.terminate();

  const goalMet =
    oldOnOld === SOCKETS &&
    closes !== null &&
    polite === SOCKETS &&
    freshOnNew === NEW_SOCKETS &&
    echoedDuringGrace === SOCKETS;
  printTable(
    `websocket: ${SOCKETS} WebSockets on the old color at the flip, ${workers} router workers`,
    ['measure', 'value'],
    [
      [`opened on the old release ${oldRelease}`, `${oldOnOld}/${SOCKETS}`],
      ['websockets on the live color (daemon status)', websocketsBefore],
      ['flip command ms (admin API round trip)', round(flipMs)],
      [`opened after the flip on the new release ${newRelease}`, `${freshOnNew}/${NEW_SOCKETS}`],
      ['old sockets still echoing right after the flip', `${echoedDuringGrace}/${SOCKETS}`],
      [
        `old sockets closed within ${CLOSE_WAIT_MS} ms`,
        closes === null ? 'not all' : closedNow.length,
      ],
      ['closed politely (1001, no socket error)', polite],
      [
        'closed otherwise',
        [...otherCodes].map(([key, count]) => `${count}x ${key}`).join(', ') || 0,
      ],
      ['close ms after the flip: min', round(percentile(closeMs, 0))],
      ['close ms after the flip: median', round(median(closeMs))],
      ['close ms after the flip: max', round(percentile(closeMs, 100))],
      ['new sockets still open at the end', `${freshStillOpen}/${NEW_SOCKETS}`],
    ],
  );
  process.stdout.write(
    `\ngoal: all ${SOCKETS} old WebSockets closed with 1001 after the grace, new ones on the new color: ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('websocket', {
    command: 'node bench/websocket.ts',
    workers,
    sockets: SOCKETS,
    openedOnOld: oldOnOld,
    websocketsBefore,
    flipMs: round(flipMs),
    newSockets: NEW_SOCKETS,
    newOnNewRelease: freshOnNew,
    echoedDuringGrace,
    allClosed: closes !== null,
    closedPolitely: polite,
    closedOtherwise: Object.fromEntries(otherCodes),
    closeMsMin: round(percentile(closeMs, 0)),
    closeMsMedian: round(median(closeMs)),
    closeMsMax: round(percentile(closeMs, 100)),
    newStillOpen: freshStillOpen,
    goalMet,
  });
}

runBenchmark('websocket', main);
