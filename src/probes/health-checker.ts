// Active health checks with rise/fall thresholds (like HAProxy's `check rise N fall M`):
// `watch` keeps judging instances and reports changes; `waitHealthy` waits for a fresh rise.
import { CutoverError } from '../core/errors.ts';
import type { Address, HealthCheckSpec } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import { probeHttp } from './http-probe.ts';
import type { ProbeResult } from './http-probe.ts';

/** `unknown` until the first rise or fall: a fresh daemon has no opinion yet. */
export type InstanceHealthState = 'unknown' | 'up' | 'down';

export interface InstanceHealth {
  readonly state: InstanceHealthState;
  /** The last failed check's reason (`status 503`, `refused`, `timeout after 2000 ms`). */
  readonly lastError: string | null;
}

export type Probe = (address: Address, spec: HealthCheckSpec) => Promise<ProbeResult>;

export interface HealthCheckerOptions {
  readonly clock: Clock;
  /** Replaces the HTTP check, for tests of the thresholds. */
  readonly probe?: Probe;
}

export interface HealthChecker {
  /** Keeps checking `addresses` with `spec` (the latest spec wins) until the returned function is called. */
  watch(addresses: readonly Address[], spec: HealthCheckSpec): () => void;
  /** Called when a watched instance rises (true) or falls (false). */
  onChange(listener: (address: Address, healthy: boolean) => void): () => void;
  stateOf(address: Address): InstanceHealth;
  /** The watched instances with a verdict: up is true, down is false; unknown ones are left out. */
  snapshot(): ReadonlyMap<Address, boolean>;
  /**
   * Resolves once every address has passed `spec.rise` checks in a row, counted from this call;
   * rejects with CUTOVER_ERR_HEALTH_FAILED naming each address that did not and its last error.
   */
  waitHealthy(
    addresses: readonly Address[],
    spec: HealthCheckSpec,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Stops every watch; pending waits reject. */
  close(): void;
}

interface Watched {
  spec: HealthCheckSpec;
  refs: number;
  state: InstanceHealthState;
  passes: number;
  fails: number;
  lastError: string | null;
  stop: AbortController;
}

/** The next verdict after one check (pure): rise passes in a row go up, fall failures go down. */
export function nextHealthState(
  current: { state: InstanceHealthState; passes: number; fails: number },
  ok: boolean,
  spec: Pick<HealthCheckSpec, 'rise' | 'fall'>,
): { state: InstanceHealthState; passes: number; fails: number } {
  if (ok) {
    const passes = current.passes + 1;
    const state = current.state !== 'up' && passes >= spec.rise ? 'up' : current.state;
    return { state, passes, fails: 0 };
  }
  const fails = current.fails + 1;
  const state = current.state !== 'down' && fails >= spec.fall ? 'down' : current.state;
  return { state, passes: 0, fails };
}

export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  const { clock } = options;
  const rawProbe: Probe =
    options.probe ?? ((address, spec) => probeHttp(clock, address, spec.path, spec.timeoutMs));
  // A probe that throws (a bad address, a bug) counts as a failed check, never a dead loop.
  const probe: Probe = async (address, spec) => {
    try {
      return await rawProbe(address, spec);
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  };
  const watched = new Map<Address, Watched>();
  const listeners = new Set<(address: Address, healthy: boolean) => void>();
  const closing = new AbortController();

  function emit(address: Address, healthy: boolean): void {
    for (const listener of [...listeners]) {
      try {
        listener(address, healthy);
      } catch (error) {
        process.emitWarning(`A health change listener threw: ${String(error)}`);
      }
    }
  }

  async function checkLoop(address: Address, entry: Watched): Promise<void> {
    while (!entry.stop.signal.aborted) {
      const result = await probe(address, entry.spec);
      if (entry.stop.signal.aborted) return;
      const next = nextHealthState(entry, result.ok, entry.spec);
      const changed = next.state !== entry.state;
      Object.assign(entry, next);
      if (!result.ok) entry.lastError = result.detail;
      if (changed && next.state !== 'unknown') emit(address, next.state === 'up');
      await clock.sleep(entry.spec.intervalMs, entry.stop.signal);
    }
  }

  function startLoop(address: Address, entry: Watched): void {
    // The loop only ends by its abort (sleep rejects); a listener that throws stops that
    // address's checks, which must not go unnoticed.
    checkLoop(address, entry).catch((error: unknown) => {
      if (entry.stop.signal.aborted) return;
      entry.lastError = `health check loop stopped: ${String(error)}`;
    });
  }

  async function riseOnce(
    address: Address,
    spec: HealthCheckSpec,
    signal: AbortSignal,
    progress: { passes: number; lastError: string | null },
  ): Promise<void> {
    for (;;) {
      const result = await probe(address, spec);
      signal.throwIfAborted();
      if (result.ok) {
        progress.passes += 1;
        if (progress.passes >= spec.rise) return;
      } else {
        progress.passes = 0;
        progress.lastError = result.detail;
      }
      await clock.sleep(spec.intervalMs, signal);
    }
  }

  return {
    watch(addresses, spec) {
      for (const address of addresses) {
        const entry = watched.get(address);
        if (entry !== undefined) {
          entry.refs += 1;
          entry.spec = spec;
          continue;
        }
        const created: Watched = {
          spec,
          refs: 1,
          state: 'unknown',
          passes: 0,
          fails: 0,
          lastError: null,
          stop: new AbortController(),
        };
        watched.set(address, created);
        startLoop(address, created);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const address of addresses) {
          const entry = watched.get(address);
          if (entry === undefined) continue;
          entry.refs -= 1;
          if (entry.refs <= 0) {
            entry.stop.abort();
            watched.delete(address);
          }
        }
      };
    },

    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    stateOf(address) {
      const entry = watched.get(address);
      return entry === undefined
        ? { state: 'unknown', lastError: null }
        : { state: entry.state, lastError: entry.lastError };
    },

    snapshot() {
      const map = new Map<Address, boolean>();
      for (const [address, entry] of watched) {
        if (entry.state !== 'unknown') map.set(address, entry.state === 'up');
      }
      return map;
    },

    async waitHealthy(addresses, spec, timeoutMs, signal) {
      const stop = new AbortController();
      const signals = [stop.signal, closing.signal, ...(signal === undefined ? [] : [signal])];
      const combined = AbortSignal.any(signals);
      const progress = new Map(
        addresses.map((address) => [address, { passes: 0, lastError: null as string | null }]),
      );
      const risen = new Set<Address>();
      const timedOut = Symbol('timeout');
      try {
        const all = Promise.all(
          addresses.map(async (address) => {
            const entry = progress.get(address) ?? { passes: 0, lastError: null };
            await riseOnce(address, spec, combined, entry);
            risen.add(address);
          }),
        );
        const deadline = clock.sleep(timeoutMs, combined).then(() => timedOut);
        // The loser of the race rejects once aborted below; nobody needs that rejection.
        all.catch(() => undefined);
        deadline.catch(() => undefined);
        const outcome = await Promise.race([all, deadline]);
        if (outcome !== timedOut) return;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (closing.signal.aborted) {
          throw new CutoverError(
            'CUTOVER_ERR_HEALTH_FAILED',
            'Health checks stopped: shutting down.',
          );
        }
        throw error;
      } finally {
        stop.abort();
      }
      const failing = addresses
        .filter((address) => !risen.has(address))
        .map((address) => {
          const entry = progress.get(address);
          const lastError =
            entry?.lastError ??
            (entry !== undefined && entry.passes > 0
              ? `only ${entry.passes} of ${spec.rise} passes in a row`
              : 'no answer yet');
          return { address, lastError };
        });
      throw new CutoverError(
        'CUTOVER_ERR_HEALTH_FAILED',
        `Instances did not pass their health check (GET ${spec.path}, ${spec.rise} in a row) within ${timeoutMs} ms: ${failing
          .map((f) => `${f.address} (${f.lastError})`)
          .join(', ')}. Nothing was flipped; fix the instances or raise the health timeout.`,
        { failing, timeoutMs },
      );
    },

    close() {
      closing.abort(new Error('health checker closed'));
      for (const entry of watched.values()) entry.stop.abort();
      watched.clear();
      listeners.clear();
    },
  };
}
