// The demo's load: keep-alive clients in-process (an undici Pool), one of them opening a new
// connection per request and one sending POSTs with a body, bounded in count and time. It counts
// every answer by release, and checks that every request sent after a flip (and finished before
// the next flip started) landed on the release that flip made live.
import { Pool } from 'undici';

export interface LoadOptions {
  readonly origin: string;
  /** Concurrent request loops; one uses a new connection per request, one sends POSTs. */
  readonly concurrency: number;
  /** Hard bounds: the load stops at whichever comes first. */
  readonly maxRequests: number;
  readonly maxDurationMs: number;
}

export interface LoadResult {
  readonly total: number;
  readonly ok: number;
  readonly failed: number;
  readonly newConnections: number;
  readonly posts: number;
  readonly byRelease: Readonly<Record<string, number>>;
  /** Requests wholly inside one settled flip window whose release was checked. */
  readonly checkedAfterFlip: number;
  /** Of those, answered by another release than the one the flip made live. */
  readonly misrouted: number;
  readonly errorSamples: readonly string[];
  readonly durationMs: number;
}

export interface Load {
  /** Marks a flip as in progress: requests overlapping it are not checked. */
  flipStarted(): void;
  /** Marks a flip as committed: requests from now on must land on `release`. */
  flipCommitted(release: string): void;
  readonly sent: number;
  stop(): Promise<LoadResult>;
}

interface Phase {
  readonly id: number;
  readonly release: string | null;
}

const REQUEST_TIMEOUT_MS = 10_000;
const ERROR_SAMPLES = 5;
const POST_BODY = JSON.stringify({ order: 42, items: ['tea', 'cake'] });

export function startLoad(options: LoadOptions): Load {
  const pool = new Pool(options.origin, {
    connections: options.concurrency,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const startedAt = performance.now();
  const deadline = startedAt + options.maxDurationMs;
  const byRelease: Record<string, number> = {};
  const errorSamples: string[] = [];
  let phase: Phase = { id: 0, release: null };
  let stopped = false;
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let newConnections = 0;
  let posts = 0;
  let checkedAfterFlip = 0;
  let misrouted = 0;

  const fail = (reason: string): void => {
    failed += 1;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(reason);
  };

  const loop = async (kind: 'keep-alive' | 'fresh' | 'post'): Promise<void> => {
    while (!stopped && sent < options.maxRequests && performance.now() < deadline) {
      sent += 1;
      if (kind === 'fresh') newConnections += 1;
      if (kind === 'post') posts += 1;
      const before = phase;
      try {
        const response = await pool.request(
          kind === 'post'
            ? {
                path: '/',
                method: 'POST',
                body: POST_BODY,
                headers: { 'content-type': 'application/json' },
              }
            : { path: '/', method: 'GET', reset: kind === 'fresh' },
        );
        const text = await response.body.text();
        if (response.statusCode !== 200) {
          fail(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
          continue;
        }
        const release = (JSON.parse(text) as { version?: unknown }).version;
        const name = typeof release === 'string' ? release : 'unknown';
        ok += 1;
        byRelease[name] = (byRelease[name] ?? 0) + 1;
        if (before.release !== null && phase.id === before.id) {
          checkedAfterFlip += 1;
          if (name !== before.release) misrouted += 1;
        }
      } catch (error) {
        fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  };

  const loops = Array.from({ length: options.concurrency }, (_, index) =>
    loop(index === 0 ? 'fresh' : index === 1 ? 'post' : 'keep-alive'),
  );
  return {
    flipStarted() {
      phase = { id: phase.id + 1, release: null };
    },
    flipCommitted(release) {
      phase = { id: phase.id + 1, release };
    },
    get sent() {
      return sent;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await pool.close();
      return {
        total: ok + failed,
        ok,
        failed,
        newConnections,
        posts,
        byRelease: { ...byRelease },
        checkedAfterFlip,
        misrouted,
        errorSamples,
        durationMs: performance.now() - startedAt,
      };
    },
  };
}
