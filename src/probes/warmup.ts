// The warm-up of a release (DESIGN.md step 8): GET requests to the idle color over keep-alive
// connections, so the first users do not pay for cold caches. Always bounded in count and time.
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { AppConfig } from '../core/app-config.ts';

/** The schema's cap on `warmup.requests`; a duration warm-up never sends more. */
export const WARMUP_MAX_REQUESTS = 1_000_000;
/** A requests warm-up that takes longer than this stops: something is wrong with the app. */
export const WARMUP_MAX_DURATION_MS = 10 * 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Distinct error reasons kept for the report; the count keeps counting past them. */
const MAX_ERROR_REASONS = 10;

export interface WarmupContext {
  readonly baseUrl: string;
  readonly host: string;
  readonly signal?: AbortSignal;
  /** Overrides WARMUP_MAX_DURATION_MS (tests). */
  readonly maxDurationMs?: number;
  /** Overrides the per-request timeout (tests). */
  readonly requestTimeoutMs?: number;
}

export type WarmupEnd = 'done' | 'skipped' | 'time-limit' | 'stopped';

export interface WarmupReport {
  readonly end: WarmupEnd;
  readonly sent: number;
  /** Requests answered with 2xx or 3xx. */
  readonly ok: number;
  /** Requests answered otherwise, or not answered (error, timeout). */
  readonly failed: number;
  /** Distinct reasons with their counts, like `{ "status 500": 3, "timeout after 10000 ms": 1 }`. */
  readonly errors: Readonly<Record<string, number>>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly durationMs: number;
}

/** Sends `requests` requests, or requests for `durationMs`, over the paths in turn. */
export async function runWarmup(
  warmup: AppConfig['warmup'],
  context: WarmupContext,
): Promise<WarmupReport> {
  const started = performance.now();
  const limitRequests = warmup.requests > 0 ? warmup.requests : WARMUP_MAX_REQUESTS;
  const limitMs =
    warmup.requests > 0
      ? (context.maxDurationMs ?? WARMUP_MAX_DURATION_MS)
      : Math.min(warmup.durationMs, context.maxDurationMs ?? WARMUP_MAX_DURATION_MS);
  if ((warmup.requests === 0 && warmup.durationMs === 0) || warmup.paths.length === 0) {
    return summarize('skipped', [], 0, {}, 0);
  }
  const timeoutMs = context.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), limitMs);
  const onAbort = (): void => stop.abort();
  context.signal?.addEventListener('abort', onAbort, { once: true });
  if (context.signal?.aborted === true) stop.abort();
  const agent = new Agent({ connections: warmup.concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let sent = 0;
  let failed = 0;

  const worker = async (): Promise<void> => {
    while (!stop.signal.aborted && sent < limitRequests) {
      const path = warmup.paths[sent % warmup.paths.length] ?? '/';
      sent += 1;
      const begun = performance.now();
      const reason = await getOnce(agent, new URL(path, context.baseUrl), context.host, {
        timeoutMs,
        stop: stop.signal,
      });
      if (reason === 'stopped') {
        // Cut off by the end of the warm-up, not the app's fault: not counted.
        sent -= 1;
        return;
      }
      if (reason === null) {
        latencies.push(performance.now() - begun);
      } else {
        failed += 1;
        if (reason in errors || Object.keys(errors).length < MAX_ERROR_REASONS) {
          errors[reason] = (errors[reason] ?? 0) + 1;
        }
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: warmup.concurrency }, worker));
  } finally {
    clearTimeout(timer);
    context.signal?.removeEventListener('abort', onAbort);
    await agent.destroy();
  }
  const end: WarmupEnd =
    context.signal?.aborted === true
      ? 'stopped'
      : sent >= limitRequests || warmup.requests === 0
        ? 'done'
        : 'time-limit';
  return summarize(end, latencies, failed, errors, performance.now() - started);
}

async function getOnce(
  agent: Agent,
  url: URL,
  host: string,
  options: { timeoutMs: number; stop: AbortSignal },
): Promise<string | null> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await request(url, {
      method: 'GET',
      headers: { host, 'user-agent': 'cutover-warmup' },
      dispatcher: agent,
      signal: AbortSignal.any([options.stop, deadline]),
    });
    // Read the body to the end so the connection is reused (keep-alive).
    await response.body.dump({ limit: 1024 * 1024 });
    // dump() resolves even when a signal cuts the body off: a body that hangs is a timeout.
    if (options.stop.aborted) return 'stopped';
    if (deadline.aborted) return `timeout after ${options.timeoutMs} ms`;
    const status = response.statusCode;
    return status >= 200 && status < 400 ? null : `status ${status}`;
  } catch (error) {
    if (options.stop.aborted) return 'stopped';
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return `timeout after ${options.timeoutMs} ms`;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
    return error instanceof Error ? error.message : String(error);
  }
}

/** The value below which `fraction` of the sorted samples fall (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] ?? null;
}

function summarize(
  end: WarmupEnd,
  latencies: number[],
  failed: number,
  errors: Record<string, number>,
  durationMs: number,
): WarmupReport {
  const sorted = latencies.toSorted((a, b) => a - b);
  const round = (value: number | null): number | null =>
    value === null ? null : Math.round(value * 10) / 10;
  return {
    end,
    sent: latencies.length + failed,
    ok: latencies.length,
    failed,
    errors,
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    durationMs: Math.round(durationMs),
  };
}
