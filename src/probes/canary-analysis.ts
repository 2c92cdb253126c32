// The analysis of one canary step (issue 5), pure: from two snapshots of the router's per-color
// counters (the step's start and end), the canary's and the live color's error rates and p99
// latencies in the step, judged against the absolute limits and against the live color.
import type { CanaryAnalysisConfig } from '../core/app-config.ts';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';

/** The cumulative counters of one color, as `TrafficSwitch.describe()` gives them. */
export interface ColorCounters {
  readonly requests: number;
  readonly failed: number;
  readonly serverErrors: number;
  readonly latency?: readonly number[];
}

/** What one color did between two snapshots. */
export interface ColorWindow {
  readonly requests: number;
  /** The router's own 5xx plus the instances' 5xx. */
  readonly errors: number;
  /** Responses per latency bucket in the window; null when the router gives no latency. */
  readonly latency: readonly number[] | null;
}

export interface ColorFigures {
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, 0 without requests. */
  readonly errorRate: number;
  /** Estimated from the buckets (linear within one); null without latency counts or responses. */
  readonly p99Ms: number | null;
}

export interface CanaryJudgement {
  /** `waiting`: fewer than `minRequests` canary requests so far; judge again later. */
  readonly verdict: 'passed' | 'failed' | 'waiting';
  readonly canary: ColorFigures;
  readonly live: ColorFigures;
  /** One line per limit broken, with the numbers; empty unless failed. */
  readonly failures: readonly string[];
}

const EMPTY: ColorCounters = { requests: 0, failed: 0, serverErrors: 0 };

/**
 * The counts between two snapshots. The counters only grow while the router runs; when the
 * later one is smaller the router restarted in between, and the later one is the whole window.
 */
export function windowBetween(
  before: ColorCounters | undefined,
  after: ColorCounters | undefined,
): ColorWindow {
  const end = after ?? EMPTY;
  let start = before ?? EMPTY;
  if (end.requests < start.requests) start = EMPTY;
  const errors = end.failed + end.serverErrors - (start.failed + start.serverErrors);
  let latency: number[] | null = null;
  if (end.latency !== undefined) {
    const from = start.latency ?? [];
    latency = end.latency.map((count, i) => Math.max(0, count - (from[i] ?? 0)));
  }
  return { requests: end.requests - start.requests, errors: Math.max(0, errors), latency };
}

/**
 * The `quantile` (0..1) of a latency histogram in ms: linear within the bucket that holds it.
 * A quantile in the overflow bucket reads as Infinity (above every bound); null without responses.
 */
export function latencyQuantileMs(latency: readonly number[], quantile: number): number | null {
  const total = latency.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(quantile * total));
  let seen = 0;
  for (let i = 0; i < latency.length; i += 1) {
    const count = latency[i] ?? 0;
    if (seen + count >= rank) {
      const upper = LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return Number.POSITIVE_INFINITY;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return Number.POSITIVE_INFINITY;
}

function figuresOf(window: ColorWindow): ColorFigures {
  return {
    requests: window.requests,
    errors: window.errors,
    errorRate: window.requests === 0 ? 0 : window.errors / window.requests,
    p99Ms: window.latency === null ? null : latencyQuantileMs(window.latency, 0.99),
  };
}

/** `0.051` -> `5.1%`; limits keep their own precision (`0.005` -> `0.5%`). */
export function percentText(rate: number, digits = 1): string {
  return `${(rate * 100).toFixed(digits)}%`;
}

function limitText(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}

export function msText(ms: number): string {
  const last = LATENCY_BUCKETS_MS.at(-1) ?? 0;
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : `over ${last} ms`;
}

/** Judges one step from the canary's and the live color's windows. */
export function judgeCanaryStep(
  canaryWindow: ColorWindow,
  liveWindow: ColorWindow,
  analysis: CanaryAnalysisConfig,
): CanaryJudgement {
  const canary = figuresOf(canaryWindow);
  const live = figuresOf(liveWindow);
  if (canary.requests < analysis.minRequests) {
    return { verdict: 'waiting', canary, live, failures: [] };
  }
  const failures: string[] = [];
  const canaryRate = `canary error rate ${percentText(canary.errorRate)} (${canary.errors}/${canary.requests})`;
  const liveRate = `live ${percentText(live.errorRate)}`;
  if (canary.errorRate > analysis.maxErrorRate) {
    failures.push(`${canaryRate} over the limit ${limitText(analysis.maxErrorRate)} (${liveRate})`);
  } else if (canary.errorRate - live.errorRate > analysis.maxErrorRateIncrease) {
    failures.push(
      `${canaryRate} more than ${limitText(analysis.maxErrorRateIncrease)} over the live color's ` +
        `${percentText(live.errorRate)} (${live.errors}/${live.requests})`,
    );
  }
  // Latency is judged only when the router counts it.
  if (canary.p99Ms !== null) {
    if (analysis.maxP99Ms !== null && canary.p99Ms > analysis.maxP99Ms) {
      failures.push(`canary p99 ${msText(canary.p99Ms)} over the limit ${analysis.maxP99Ms} ms`);
    }
    if (
      analysis.maxP99Ratio !== null &&
      live.p99Ms !== null &&
      live.p99Ms > 0 &&
      canary.p99Ms > analysis.maxP99Ratio * live.p99Ms
    ) {
      failures.push(
        `canary p99 ${msText(canary.p99Ms)} over ${analysis.maxP99Ratio} x the live p99 ${msText(live.p99Ms)}`,
      );
    }
  }
  return { verdict: failures.length === 0 ? 'passed' : 'failed', canary, live, failures };
}
