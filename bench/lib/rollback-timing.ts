// How the rollback benchmarks time one rollback: from the command (an admin API call, or
// spawning `cutover rollback`) to the first response from the old release seen by keep-alive
// pollers reading `x-release`, and to 100 % (no response from the other release after it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleasePoller, Sample } from './release-poller.ts';
import { median, percentile, round } from './stats.ts';

/** How long after the command returns the pollers are watched for the old release. */
export const OBSERVE_MS = 500;
export const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));

export interface Measurement {
  readonly via: string;
  readonly from: string;
  readonly to: string;
  /** From the command to the first response head from the old release. */
  readonly firstMs: number;
  /** From the command until no response from the other release arrives any more. */
  readonly allMs: number;
  /** From the command to its answer (the CLI: to the process's exit). */
  readonly commandMs: number;
  /** The daemon's own report of the flip (command received to committed on every worker). */
  readonly reportedMs: number | null;
}

/** The `release` of a flip answer, or '' when it has none. */
export function releaseOf(value: unknown): string {
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

/**
 * Times from `start` against the samples received after it; `to` is the release the command
 * reported (or the last one seen). Pure, for the unit test.
 */
export function timeRollback(
  via: string,
  from: string,
  start: number,
  commandMs: number,
  response: unknown,
  after: readonly Sample[],
): Measurement {
  const seen = after.filter((sample) => sample.receivedAt >= start);
  const to = releaseOf(response) || (seen.at(-1)?.release ?? '');
  if (to === '' || to === from) throw new Error(`rollback did not change the release (${from})`);
  const firstTo = seen.find((sample) => sample.release === to);
  if (firstTo === undefined) throw new Error(`no response from ${to} within ${OBSERVE_MS} ms`);
  let lastOther = -Infinity;
  for (const sample of seen) if (sample.release !== to) lastOther = sample.receivedAt;
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

/** Runs one rollback command while the poller runs, and times it. */
export async function measureRollback(
  poller: ReleasePoller,
  via: string,
  run: () => Promise<unknown>,
): Promise<Measurement> {
  const before = poller.samples.length;
  const from = poller.samples.at(-1)?.release ?? '';
  const start = performance.now();
  const response = await run();
  const commandMs = performance.now() - start;
  await sleep(OBSERVE_MS);
  return timeRollback(via, from, start, commandMs, response, poller.samples.slice(before));
}

/** Spawns `node bin/cutover.js <args>` and resolves to its parsed --json output on exit 0. */
export function runCutoverCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CUTOVER_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`cutover ${args.join(' ')} exited ${code}: ${out}`));
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

/** Spawns a process and resolves once it exited 0 (the bare Node start, for comparison). */
export function runProcess(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`)),
    );
  });
}

export function summarizeRollbacks(rows: readonly Measurement[]): Record<string, number> {
  const pick = (key: 'firstMs' | 'allMs' | 'commandMs'): number[] => rows.map((row) => row[key]);
  const reported = rows.map((row) => row.reportedMs ?? Number.NaN).filter(Number.isFinite);
  return {
    count: rows.length,
    firstMsMedian: round(median(pick('firstMs'))),
    firstMsMax: round(percentile(pick('firstMs'), 100)),
    allMsMedian: round(median(pick('allMs'))),
    allMsMax: round(percentile(pick('allMs'), 100)),
    commandMsMedian: round(median(pick('commandMs'))),
    commandMsMax: round(percentile(pick('commandMs'), 100)),
    reportedMsMedian: round(median(reported)),
    reportedMsMax: round(percentile(reported, 100)),
  };
}

export function roundMeasurement(row: Measurement): Measurement {
  return {
    ...row,
    firstMs: round(row.firstMs),
    allMs: round(row.allMs),
    commandMs: round(row.commandMs),
  };
}
