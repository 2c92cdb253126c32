// The switch window (DESIGN.md step 10): after a flip, probe the new live color through the
// PUBLIC listener every probe interval for the probe window. Any failed probe, or an error rate
// of real traffic above the threshold, ends the window early and says why.
import { Agent, request } from 'undici';
import type { AppConfig } from '../core/app-config.ts';
import type { Clock } from '../ports/clock.ts';

/** A probe gets this long unless told otherwise; a live color slower than this is failing. */
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;
/** The timeline keeps the latest probes only; a 24 h window at 1 ms must not fill the memory. */
export const MAX_TIMELINE_PROBES = 10_000;

/** Counts since the router started (cumulative), for the error rate of real traffic. */
export interface TrafficCounts {
  readonly requests: number;
  readonly failed: number;
}

export interface VerifyWindowContext {
  /** The public listener's URL, like `http://127.0.0.1:8080`. */
  readonly publicUrl: string;
  readonly host: string;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  /** Called after each probe, for live progress and the history timeline (which is capped). */
  readonly onProbe?: (probe: ProbeRecord) => void;
  readonly probeTimeoutMs?: number;
  /** Overrides MAX_TIMELINE_PROBES (tests). */
  readonly timelineLimit?: number;
  /** The app's new live color's traffic (the router's counts); without it only probes count. */
  readonly traffic?: () => Promise<TrafficCounts>;
}

export interface ProbeRecord {
  /** Wall-clock time the probe started, ms since the epoch. */
  readonly atMs: number;
  readonly path: string;
  /** The status answered; null when there was no answer. */
  readonly status: number | null;
  readonly ms: number;
  readonly ok: boolean;
  /** Why it failed (`status 500`, `timeout after 2000 ms`, `connection refused`); null if ok. */
  readonly error: string | null;
}

export type VerifyWindowResult =
  | { readonly ok: true; readonly timeline: readonly ProbeRecord[]; readonly durationMs: number }
  | {
      readonly ok: false;
      /** `probe GET /healthz: status 500`, `error rate 5% (5 of 100 requests) above 1%`, `stopped`. */
      readonly reason: string;
      readonly stopped: boolean;
      readonly timeline: readonly ProbeRecord[];
      readonly durationMs: number;
    };

/** Probes every path each interval until the window ends or something fails. */
export async function verifySwitchWindow(
  settings: AppConfig['switch'],
  context: VerifyWindowContext,
): Promise<VerifyWindowResult> {
  const { clock } = context;
  const started = clock.monotonicMs();
  const timeline: ProbeRecord[] = [];
  const elapsed = (): number => clock.monotonicMs() - started;
  const fail = (reason: string, stopped = false): VerifyWindowResult => ({
    ok: false,
    reason,
    stopped,
    timeline,
    durationMs: Math.round(elapsed()),
  });
  if (settings.probeWindowMs === 0) return { ok: true, timeline, durationMs: 0 };
  const timeoutMs = context.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const agent = new Agent({ connections: 1, pipelining: 1 });
  try {
    const baseline = context.traffic === undefined ? null : await context.traffic();
    for (;;) {
      for (const path of settings.probePaths) {
        if (isAborted(context.signal)) return fail('stopped', true);
        const probe = await probeOnce(agent, context, path, timeoutMs);
        timeline.push(probe);
        if (timeline.length > (context.timelineLimit ?? MAX_TIMELINE_PROBES)) timeline.shift();
        context.onProbe?.(probe);
        if (!probe.ok) {
          if (isAborted(context.signal)) return fail('stopped', true);
          return fail(`probe GET ${path}: ${probe.error ?? 'failed'}`);
        }
      }
      if (baseline !== null && context.traffic !== undefined) {
        const reason = errorRateReason(
          baseline,
          await context.traffic(),
          settings.failureThreshold,
        );
        if (reason !== null) return fail(reason);
      }
      const left = settings.probeWindowMs - elapsed();
      if (left <= 0) break;
      try {
        await clock.sleep(Math.min(settings.probeIntervalMs, left), context.signal);
      } catch {
        return fail('stopped', true);
      }
    }
  } finally {
    await agent.destroy();
  }
  return { ok: true, timeline, durationMs: Math.round(elapsed()) };
}

/** A function, not a property read, so a check after an await is not narrowed away. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Null while the failed share of requests since `before` is at or below the threshold. */
export function errorRateReason(
  before: TrafficCounts,
  now: TrafficCounts,
  threshold: number,
): string | null {
  const requests = now.requests - before.requests;
  const failed = now.failed - before.failed;
  if (requests <= 0 || failed / requests <= threshold) return null;
  return `error rate ${formatPercent(failed / requests)} (${failed} of ${requests} requests) above the ${formatPercent(threshold)} threshold`;
}

function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

async function probeOnce(
  agent: Agent,
  context: VerifyWindowContext,
  path: string,
  timeoutMs: number,
): Promise<ProbeRecord> {
  const { clock } = context;
  const atMs = clock.nowMs();
  const begun = clock.monotonicMs();
  const deadline = new AbortController();
  const onAbort = (): void => deadline.abort();
  context.signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = new AbortController();
  clock.sleep(timeoutMs, timer.signal).then(
    () => {
      timedOut = true;
      deadline.abort();
    },
    () => undefined,
  );
  const record = (status: number | null, error: string | null): ProbeRecord => ({
    atMs,
    path,
    status,
    ms: Math.round((clock.monotonicMs() - begun) * 10) / 10,
    ok: error === null,
    error,
  });
  try {
    const response = await request(new URL(path, context.publicUrl), {
      method: 'GET',
      headers: { host: context.host, 'user-agent': 'cutover-probe' },
      dispatcher: agent,
      signal: deadline.signal,
    });
    await response.body.dump({ limit: 64 * 1024 });
    // dump() resolves even when the deadline cuts the body off: a body that hangs is a timeout.
    if (timedOut) return record(null, `timeout after ${timeoutMs} ms`);
    if (isAborted(context.signal)) return record(null, 'stopped');
    const status = response.statusCode;
    return record(status, status >= 200 && status < 400 ? null : `status ${status}`);
  } catch (error) {
    if (timedOut) return record(null, `timeout after ${timeoutMs} ms`);
    if (isAborted(context.signal)) return record(null, 'stopped');
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ECONNREFUSED') return record(null, 'connection refused');
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return record(null, 'connection reset');
    return record(null, error instanceof Error ? error.message : String(error));
  } finally {
    timer.abort();
    context.signal?.removeEventListener('abort', onAbort);
  }
}
