// The demo's steady load: in-process clients (an undici Pool) at a bounded rate, one of them
// opening a new connection per request and one placing orders (POST with a JSON body), bounded
// in count and time. It counts every answer by the release that gave it (the shop's
// `x-release` header, else the JSON body's `version`), and keeps each good answer's times and
// release so demo-routing-check.ts can tell whether it came from the release live at the time.
// Failures from a release marked as tolerated (v4, in its short live window before the
// automatic rollback) are counted apart: they are the app's, not cutover's.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { AnsweredRequest, RoutingCheck } from './demo-routing-check.ts';

export interface LoadOptions {
  readonly origin: string;
  /** Concurrent request loops; one uses a new connection per request, one sends POSTs. */
  readonly concurrency: number;
  /** Requests per second, across all loops. */
  readonly ratePerSecond: number;
  /** Hard bounds: the load stops at whichever comes first. */
  readonly maxRequests: number;
  readonly maxDurationMs: number;
}

/** What the load counted, before the routing check. */
export interface LoadCounts {
  /** Every answered or failed request: ok + failed + tolerated. */
  readonly total: number;
  readonly ok: number;
  /** Failures cutover is accountable for: must be 0. */
  readonly failed: number;
  /** Failed answers from the tolerated release while it was marked, by release. */
  readonly tolerated: Readonly<Record<string, number>>;
  readonly newConnections: number;
  readonly posts: number;
  /** Good answers by release. */
  readonly byRelease: Readonly<Record<string, number>>;
  readonly errorSamples: readonly string[];
  readonly durationMs: number;
}

export interface LoadResult extends LoadCounts {
  /** Good answers that overlapped no flip, so their release was checked. */
  readonly checkedAfterFlip: number;
  /** Of those, answered by another release than the one live when they were sent. */
  readonly misrouted: number;
  readonly misroutedSamples: readonly string[];
}

export function withRoutingCheck(counts: LoadCounts, check: RoutingCheck): LoadResult {
  return {
    ...counts,
    checkedAfterFlip: check.checked,
    misrouted: check.misrouted,
    misroutedSamples: check.samples,
  };
}

export interface Load {
  /** Counts failed answers from `release` apart (null: none) until the next call. */
  tolerate(release: string | null): void;
  readonly sent: number;
  /** Each good answer: when it was sent and done (epoch ms) and which release gave it. */
  readonly answers: readonly AnsweredRequest[];
  stop(): Promise<LoadCounts>;
}

const REQUEST_TIMEOUT_MS = 10_000;
const ERROR_SAMPLES = 5;
const ORDER_BODY = JSON.stringify({ items: ['mug', 'sticker'], note: 'cutover demo' });
const GET_PATHS = ['/', '/api/products'] as const;

/** The release that gave an answer: the shop's header, else the JSON body's `version`. */
export function releaseOf(header: string | string[] | undefined, body: string): string | null {
  if (typeof header === 'string' && header !== '') return header;
  try {
    const version = (JSON.parse(body) as { version?: unknown }).version;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

export function startLoad(options: LoadOptions): Load {
  const pool = new Pool(options.origin, {
    connections: options.concurrency,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const startedAt = performance.now();
  const deadline = startedAt + options.maxDurationMs;
  const gapMs = 1000 / options.ratePerSecond;
  const byRelease: Record<string, number> = {};
  const tolerated: Record<string, number> = {};
  const errorSamples: string[] = [];
  const answers: AnsweredRequest[] = [];
  let toleratedRelease: string | null = null;
  let stopped = false;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let newConnections = 0;
  let posts = 0;
  const wake = new AbortController();

  const fail = (reason: string): void => {
    failed += 1;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(reason);
  };

  // Request n is due at startedAt + n * gapMs, whichever loop sends it: a steady rate.
  const waitForSlot = async (slot: number): Promise<void> => {
    const waitMs = startedAt + slot * gapMs - performance.now();
    if (waitMs <= 0) return;
    try {
      await sleep(waitMs, undefined, { signal: wake.signal });
    } catch {
      // Woken by stop().
    }
  };

  const send = async (kind: 'keep-alive' | 'fresh' | 'post', slot: number): Promise<void> => {
    const sentAt = Date.now();
    const watched = toleratedRelease;
    try {
      const response = await pool.request(
        kind === 'post'
          ? {
              path: '/api/orders',
              method: 'POST',
              body: ORDER_BODY,
              headers: { 'content-type': 'application/json' },
            }
          : {
              path: GET_PATHS[slot % GET_PATHS.length] ?? '/',
              method: 'GET',
              reset: kind === 'fresh',
            },
      );
      const text = await response.body.text();
      const release = releaseOf(response.headers['x-release'], text);
      if (response.statusCode < 200 || response.statusCode > 299) {
        if (release !== null && (release === watched || release === toleratedRelease)) {
          tolerated[release] = (tolerated[release] ?? 0) + 1;
        } else {
          fail(
            `HTTP ${response.statusCode} from ${release ?? 'the router'}: ${text.slice(0, 200)}`,
          );
        }
        return;
      }
      const name = release ?? 'unknown';
      ok += 1;
      byRelease[name] = (byRelease[name] ?? 0) + 1;
      answers.push({ sentAt, doneAt: Date.now(), release: name });
    } catch (error) {
      fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  };

  const loop = async (kind: 'keep-alive' | 'fresh' | 'post'): Promise<void> => {
    while (!stopped && sent < options.maxRequests && performance.now() < deadline) {
      const slot = sent;
      sent += 1;
      await waitForSlot(slot);
      if (stopped) {
        sent -= 1;
        return;
      }
      if (kind === 'fresh') newConnections += 1;
      if (kind === 'post') posts += 1;
      await send(kind, slot);
    }
  };

  const loops = Array.from({ length: options.concurrency }, (_, index) =>
    loop(index === 0 ? 'fresh' : index === 1 ? 'post' : 'keep-alive'),
  );
  return {
    answers,
    tolerate(release) {
      toleratedRelease = release;
    },
    get sent() {
      return sent;
    },
    async stop(): Promise<LoadCounts> {
      stopped = true;
      wake.abort();
      await Promise.all(loops);
      await pool.close();
      const toleratedTotal = Object.values(tolerated).reduce((sum, n) => sum + n, 0);
      return {
        total: ok + failed + toleratedTotal,
        ok,
        failed,
        tolerated: { ...tolerated },
        newConnections,
        posts,
        byRelease: { ...byRelease },
        errorSamples,
        durationMs: performance.now() - startedAt,
      };
    },
  };
}
