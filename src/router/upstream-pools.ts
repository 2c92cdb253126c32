// Keep-alive connection pools per upstream address, round-robin choice among the healthy
// instances of a color, and passive health (an instance that refuses connections is skipped
// for a while if another one is up).
import { Pool } from 'undici';
import type { RouteTarget } from '../core/routing-table.ts';
import type { Address } from '../core/types.ts';

export interface UpstreamPoolOptions {
  /** Below the app's own idle timeout (Node apps default to 5 s), so the app never closes first. */
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Time to wait for the response head. */
  readonly headersTimeoutMs: number;
  /** Longest silence inside a response body. */
  readonly bodyTimeoutMs: number;
  /** How long an instance that refused a connection is skipped while another one is up. */
  readonly passiveDownMs: number;
}

export const DEFAULT_UPSTREAM_POOL_OPTIONS: UpstreamPoolOptions = {
  idleTimeoutMs: 4000,
  connectTimeoutMs: 5000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 300_000,
  passiveDownMs: 2000,
};

/** `host:port` or `[v6]:port` to the origin undici wants. */
function originOf(address: Address): string {
  return `http://${address}`;
}

export class UpstreamPools {
  private readonly options: UpstreamPoolOptions;
  private readonly pools = new Map<Address, Pool>();
  private readonly activeDown = new Set<Address>();
  private readonly passiveDownUntil = new Map<Address, number>();
  private readonly cursors = new WeakMap<RouteTarget, number>();

  constructor(options: UpstreamPoolOptions) {
    this.options = options;
  }

  pool(address: Address): Pool {
    let pool = this.pools.get(address);
    if (pool === undefined) {
      pool = new Pool(originOf(address), {
        keepAliveTimeout: this.options.idleTimeoutMs,
        keepAliveMaxTimeout: this.options.idleTimeoutMs,
        // undici subtracts this from the app's `Keep-Alive: timeout=N` hint.
        keepAliveTimeoutThreshold: 1000,
        connectTimeout: this.options.connectTimeoutMs,
        headersTimeout: this.options.headersTimeoutMs,
        bodyTimeout: this.options.bodyTimeoutMs,
        pipelining: 1,
      });
      // A pool-level error (a socket failing between requests) must not crash the router.
      pool.on('connectionError', () => {});
      this.pools.set(address, pool);
    }
    return pool;
  }

  /**
   * The next instance of `target` in round-robin order, skipping instances known to be down
   * while at least one other is up. `exclude` holds instances already tried for this request.
   */
  pick(target: RouteTarget, exclude?: ReadonlySet<Address>): Address | undefined {
    const upstreams = target.upstreams;
    const count = upstreams.length;
    if (count === 0) return undefined;
    const start = this.cursors.get(target) ?? 0;
    this.cursors.set(target, (start + 1) % count);
    const now = performance.now();
    let fallback: Address | undefined;
    for (let i = 0; i < count; i++) {
      const address = upstreams[(start + i) % count] as Address;
      if (exclude?.has(address) === true) continue;
      if (this.isUp(address, now)) return address;
      fallback ??= address;
    }
    // Every untried instance looks down: try one anyway, health may lag behind reality.
    return fallback;
  }

  private isUp(address: Address, now: number): boolean {
    if (this.activeDown.has(address)) return false;
    const until = this.passiveDownUntil.get(address);
    if (until === undefined) return true;
    if (until > now) return false;
    this.passiveDownUntil.delete(address);
    return true;
  }

  /** Passive health: the instance refused a connection. */
  markRefused(address: Address): void {
    this.passiveDownUntil.set(address, performance.now() + this.options.passiveDownMs);
  }

  /** Active health results from the daemon's checker; an address not in the map keeps its state. */
  setHealth(health: ReadonlyMap<Address, boolean>): void {
    for (const [address, up] of health) {
      if (up) {
        this.activeDown.delete(address);
        this.passiveDownUntil.delete(address);
      } else {
        this.activeDown.add(address);
      }
    }
  }

  /** Closes the pools of addresses no longer routed; their in-flight requests finish first. */
  retain(keep: ReadonlySet<Address>): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [address, pool] of this.pools) {
      if (keep.has(address)) continue;
      this.pools.delete(address);
      closing.push(pool.close().catch(() => {}));
    }
    return Promise.all(closing).then(() => {});
  }

  destroy(): Promise<void> {
    const closing = [...this.pools.values()].map((pool) => pool.destroy().catch(() => {}));
    this.pools.clear();
    return Promise.all(closing).then(() => {});
  }
}
