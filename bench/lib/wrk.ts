// Runs wrk (the load generator) and parses its report: requests/s, the latency distribution
// (--latency) and the failures wrk counts (socket errors and non-2xx/3xx responses).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild } from './child.ts';

export interface WrkOptions {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly durationS: number;
  /** A Lua script path (`-s`), e.g. from `writeConnectionCloseScript`. */
  readonly script?: string;
  readonly timeoutS?: number;
}

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
    readonly non2xx: number;
  };
  /** Socket errors plus non-2xx/3xx responses: every request that did not succeed. */
  readonly failed: number;
  readonly raw: string;
}

const UNIT_TO_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function parseDurationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (match === null) throw new Error(`wrk: cannot parse the duration "${text}"`);
  return Number(match[1]) * (UNIT_TO_MS[match[2] ?? 'ms'] ?? 1);
}

function numberAfter(raw: string, pattern: RegExp): number {
  const match = pattern.exec(raw);
  return match === null ? 0 : Number(match[1]);
}

/** Parses wrk 4.x output (the format printed by wrk's `print_stats` and `--latency`). */
export function parseWrkOutput(raw: string): WrkResult {
  const requestsMatch = /(\d+) requests in /.exec(raw);
  const rpsMatch = /Requests\/sec:\s+([\d.]+)/.exec(raw);
  if (requestsMatch === null || rpsMatch === null) {
    throw new Error(`wrk: unexpected output:\n${raw}`);
  }
  const p50 = /^\s+50%\s+(\S+)$/m.exec(raw);
  const p99 = /^\s+99%\s+(\S+)$/m.exec(raw);
  const connect = numberAfter(raw, /Socket errors: connect (\d+)/);
  const read = numberAfter(raw, /Socket errors: connect \d+, read (\d+)/);
  const write = numberAfter(raw, /Socket errors: .*write (\d+)/);
  const timeout = numberAfter(raw, /Socket errors: .*timeout (\d+)/);
  const non2xx = numberAfter(raw, /Non-2xx or 3xx responses: (\d+)/);
  return {
    requests: Number(requestsMatch[1]),
    rps: Number(rpsMatch[1]),
    p50Ms: p50?.[1] === undefined ? Number.NaN : parseDurationMs(p50[1]),
    p99Ms: p99?.[1] === undefined ? Number.NaN : parseDurationMs(p99[1]),
    errors: { connect, read, write, timeout, non2xx },
    failed: connect + read + write + timeout + non2xx,
    raw,
  };
}

/** Runs wrk once and returns its parsed report; rejects if wrk fails to run. */
export async function runWrk(wrkPath: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    `--timeout`,
    `${options.timeoutS ?? 5}s`,
    '--latency',
    ...(options.script === undefined ? [] : ['-s', options.script]),
    options.url,
  ];
  const child = startChild('wrk', wrkPath, args);
  const code = await child.exited;
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${child.output()}`);
  return parseWrkOutput(child.output());
}

/** Writes a wrk Lua script that asks for a new connection per request (`Connection: close`). */
export async function writeConnectionCloseScript(dir: string): Promise<string> {
  const path = join(dir, 'connection-close.lua');
  await writeFile(path, 'wrk.headers["Connection"] = "close"\n');
  return path;
}
