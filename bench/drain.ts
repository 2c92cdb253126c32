// Benchmark `drain` (QUALITY.md section 1): 200 slow requests (2 s each) in flight at the flip.
// They must all complete on the old color, byte-exact, and the flip must return without
// waiting for them; requests sent after the flip land on the new color.
//   node bench/drain.ts            (npm run bench:drain)
// Env: BENCH_SLOW_REQUESTS (default 200), BENCH_SLOW_MS (default 2000).
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { deployRelease, startCutoverDaemon } from './lib/cutover-daemon.ts';
import { startReleaseInstance } from './lib/release-instances.ts';
import { slowBody } from './lib/release-body.ts';
import { liveInflight, readAppStatus } from './lib/app-status.ts';
import { round } from './lib/stats.ts';
import { printTable, writeResult } from './lib/report.ts';

const SLOW_REQUESTS = Number(process.env['BENCH_SLOW_REQUESTS'] ?? '200');
const SLOW_MS = Number(process.env['BENCH_SLOW_MS'] ?? '2000');
const AFTER_FLIP_REQUESTS = 50;
const INFLIGHT_WAIT_MS = 1500;

interface Outcome {
  readonly status: number;
  readonly release: string;
  readonly body: Buffer;
  readonly doneAt: number;
  readonly error: string | null;
}

function get(port: number, path: string, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const fail = (error: Error): void =>
      resolve({
        status: 0,
        release: '',
        body: Buffer.alloc(0),
        doneAt: performance.now(),
        error: error.message,
      });
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const header = res.headers['x-release'];
        resolve({
          status: res.statusCode ?? 0,
          release: typeof header === 'string' ? header : '',
          body: Buffer.concat(chunks),
          doneAt: performance.now(),
          error: null,
        });
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('response closed before its end'));
      });
    });
    req.on('error', fail);
    req.end();
  });
}

async function main(): Promise<void> {
  const dir = await createTempDir('drain');
  const workers = availableParallelism();
  const [v1, v2] = await Promise.all([startReleaseInstance('v1'), startReleaseInstance('v2')]);
  const daemon = await startCutoverDaemon({ dir, workers });
  await deployRelease(daemon, 'bench', 'v1', [v1.address]);
  await deployRelease(daemon, 'bench', 'v2', [v2.address]);
  const oldRelease = 'v2';
  const newRelease = 'v1';

  // One connection per slow request, so none waits behind another.
  const slowAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const started = performance.now();
  const slow = Array.from({ length: SLOW_REQUESTS }, (_, id) =>
    get(daemon.publicPort, `/slow?ms=${SLOW_MS}&id=${id}`, slowAgent),
  );
  let inflightAtFlip = 0;
  while (performance.now() - started < INFLIGHT_WAIT_MS) {
    inflightAtFlip = await liveInflight(daemon, 'bench');
    if (inflightAtFlip >= SLOW_REQUESTS) break;
    await sleep(20);
  }

  let completedBeforeFlipReturned = 0;
  const tracked = slow.map((promise) =>
    promise.then((outcome) => {
      completedBeforeFlipReturned += 1;
      return outcome;
    }),
  );
  const flipStart = performance.now();
  const flip = await daemon.adminOk('POST', '/v1/apps/bench/flip', {});
  const flipMs = performance.now() - flipStart;
  const completedAtFlipReturn = completedBeforeFlipReturned;
  const flipAt = performance.now();

  const freshAgent = new Agent({ keepAlive: true, maxSockets: 10 });
  const after = await Promise.all(
    Array.from({ length: AFTER_FLIP_REQUESTS }, () => get(daemon.publicPort, '/', freshAgent)),
  );
  freshAgent.destroy();
  const outcomes = await Promise.all(tracked);
  slowAgent.destroy();
  const statusAfter = await readAppStatus(daemon, 'bench');

  const byteExact = outcomes.filter(
    (outcome, id) =>
      outcome.status === 200 &&
      outcome.release === oldRelease &&
      outcome.body.equals(slowBody(oldRelease, id)),
  ).length;
  const failed = outcomes.filter((outcome) => outcome.error !== null || outcome.status !== 200);
  const wrongRelease = outcomes.filter(
    (outcome) => outcome.status === 200 && outcome.release !== oldRelease,
  ).length;
  const afterOnNew = after.filter(
    (outcome) => outcome.status === 200 && outcome.release === newRelease,
  ).length;
  const lastDoneMs = Math.max(...outcomes.map((outcome) => outcome.doneAt - flipAt));
  const goalMet =
    byteExact === SLOW_REQUESTS &&
    inflightAtFlip >= SLOW_REQUESTS &&
    completedAtFlipReturn === 0 &&
    afterOnNew === AFTER_FLIP_REQUESTS;

  printTable(
    `drain: ${SLOW_REQUESTS} slow requests (${SLOW_MS} ms, 32 KiB each) in flight at the flip, ${workers} router workers`,
    ['measure', 'value'],
    [
      ['in flight on the live color at the flip (daemon status)', inflightAtFlip],
      ['flip command ms (admin API round trip)', round(flipMs)],
      ['slow requests completed when the flip returned', completedAtFlipReturn],
      [`slow requests completed on the old release ${oldRelease}, byte-exact`, byteExact],
      ['slow requests failed (error or non-200)', failed.length],
      ['slow requests answered by another release', wrongRelease],
      ['last slow request done, ms after the flip returned', round(lastDoneMs)],
      [
        `requests sent after the flip on the new release ${newRelease}`,
        `${afterOnNew}/${AFTER_FLIP_REQUESTS}`,
      ],
      ['live color after', statusAfter.live ?? 'none'],
    ],
  );
  if (failed[0] !== undefined) {
    process.stdout.write(`first failure: ${failed[0].error ?? `status ${failed[0].status}`}\n`);
  }
  process.stdout.write(
    `\ngoal: all ${SLOW_REQUESTS} complete byte-exact on the old color, the flip returns first, new requests on the new color: ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('drain', {
    command: 'node bench/drain.ts',
    workers,
    slowRequests: SLOW_REQUESTS,
    slowMs: SLOW_MS,
    inflightAtFlip,
    flipMs: round(flipMs),
    flip,
    completedAtFlipReturn,
    byteExact,
    failed: failed.length,
    wrongRelease,
    lastDoneMsAfterFlip: round(lastDoneMs),
    afterFlipOnNewRelease: afterOnNew,
    afterFlipRequests: AFTER_FLIP_REQUESTS,
    goalMet,
  });
}

runBenchmark('drain', main);
