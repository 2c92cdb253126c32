// Idle keep-alive connections to instances, one stack per address, for the raw forwarding path.
// The pool closes an idle connection before the app would (its idle timeout is below the app's),
// so a reused connection is rarely one the app is closing at that very moment (QUALITY.md A6).
//
// Every socket keeps one set of listeners for its whole life and hands its events to whoever
// holds it (an exchange, or the pool while idle): adding and removing six listeners on every
// request was a measurable share of the fast path's CPU time. Each socket reads into its own
// reusable buffer (net.connect's `onread`): no allocation and no stream machinery per read, so a
// holder must copy any bytes it keeps or writes elsewhere (see UpstreamOwner.upstreamData).
import net from 'node:net';
import type { Address } from '../../core/types.ts';

export interface UpstreamSocketPoolOptions {
  /** Kept below the app's own keep-alive timeout (Node's default is 5 s). */
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxIdlePerAddress: number;
}

export const DEFAULT_UPSTREAM_SOCKET_POOL_OPTIONS: UpstreamSocketPoolOptions = {
  idleTimeoutMs: 4000,
  connectTimeoutMs: 5000,
  maxIdlePerAddress: 256,
};

/** How often idle connections past their keep time are closed (reuse checks it exactly). */
const IDLE_SWEEP_MS = 250;
/** The read buffer of one upstream connection, reused for every read on it. */
const READ_BUFFER_BYTES = 16 * 1024;

/** Who receives a pooled socket's events while it holds the connection. */
export interface UpstreamOwner {
  /**
   * Bytes read from the instance. `chunk` is a view of the connection's read buffer, valid only
   * during this call: the next read overwrites it, so copy what is kept or written elsewhere.
   */
  upstreamData(chunk: Buffer): void;
  /** The instance ended or closed the connection. */
  upstreamEnd(): void;
  upstreamError(error: NodeJS.ErrnoException): void;
  /** The connection did not connect in time. */
  upstreamTimeout(): void;
  upstreamDrain(): void;
}

/** One connection to an instance, with its listeners attached once. */
export class UpstreamConnection {
  readonly socket: net.Socket;
  readonly address: Address;
  /** True when the socket served an earlier exchange: it may have been closed by the app. */
  reused = false;
  /** The holder of the connection; null while idle in the pool (any event then closes it). */
  owner: UpstreamOwner | null = null;
  /** While idle: the performance.now() time after which it is never reused. */
  idleUntil = 0;

  /** Connects to `address`. */
  constructor(address: Address) {
    this.address = address;
    const { host, port } = splitAddress(address);
    const socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: this.#onRead },
    });
    this.socket = socket;
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    // Always listened to: a destroyed socket may still emit 'error' once.
    socket.on('error', this.#onError);
    socket.on('timeout', this.#onTimeout);
    socket.on('drain', this.#onDrain);
  }

  get usable(): boolean {
    return !this.socket.destroyed && this.socket.readyState === 'open';
  }

  /** Returns true: reading goes on (backpressure pauses the socket explicitly). */
  readonly #onRead = (bytes: number, buffer: Uint8Array): boolean => {
    const owner = this.owner;
    // Any byte while idle means the connection is out of step and no longer usable.
    if (owner === null) this.socket.destroy();
    else owner.upstreamData((buffer as Buffer).subarray(0, bytes));
    return true;
  };

  readonly #onEnd = (): void => {
    const owner = this.owner;
    if (owner === null) this.socket.destroy();
    else owner.upstreamEnd();
  };

  readonly #onError = (error: NodeJS.ErrnoException): void => {
    const owner = this.owner;
    if (owner === null) this.socket.destroy();
    else owner.upstreamError(error);
  };

  readonly #onTimeout = (): void => {
    const owner = this.owner;
    if (owner === null) this.socket.destroy();
    else owner.upstreamTimeout();
  };

  readonly #onDrain = (): void => {
    this.owner?.upstreamDrain();
  };
}

/** Splits `host:port` or `[v6]:port`. */
export function splitAddress(address: Address): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return {
    host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host,
    port: Number(address.slice(colon + 1)),
  };
}

export class UpstreamSocketPool {
  readonly #options: UpstreamSocketPoolOptions;
  readonly #idle = new Map<Address, UpstreamConnection[]>();
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: UpstreamSocketPoolOptions = DEFAULT_UPSTREAM_SOCKET_POOL_OPTIONS) {
    this.#options = options;
  }

  /** An idle connection (most recently used first), or a new one that is connecting. */
  acquire(address: Address, owner: UpstreamOwner): UpstreamConnection {
    const stack = this.#idle.get(address);
    if (stack !== undefined && stack.length > 0) {
      const now = performance.now();
      while (stack.length > 0) {
        const connection = stack.pop() as UpstreamConnection;
        if (connection.usable && now < connection.idleUntil) {
          connection.owner = owner;
          connection.reused = true;
          return connection;
        }
        connection.socket.destroy();
      }
    }
    const connection = new UpstreamConnection(address);
    const socket = connection.socket;
    connection.owner = owner;
    socket.setTimeout(this.#options.connectTimeoutMs);
    socket.once('connect', () => socket.setTimeout(0));
    return connection;
  }

  /**
   * Returns a connection whose exchange ended cleanly; anything odd about it closes it.
   * `idleMs` (from the app's `Keep-Alive: timeout=N`, less a margin) shortens how long it waits
   * for reuse, so the router never sends on a connection the app is about to close.
   */
  release(connection: UpstreamConnection, idleMs?: number): void {
    connection.owner = null;
    const socket = connection.socket;
    const keepMs = Math.min(idleMs ?? this.#options.idleTimeoutMs, this.#options.idleTimeoutMs);
    if (this.#closed || !connection.usable || keepMs <= 0) {
      socket.destroy();
      return;
    }
    let stack = this.#idle.get(connection.address);
    if (stack === undefined) {
      stack = [];
      this.#idle.set(connection.address, stack);
    }
    if (stack.length >= this.#options.maxIdlePerAddress) {
      socket.destroy();
      return;
    }
    if (socket.isPaused()) socket.resume();
    connection.idleUntil = performance.now() + keepMs;
    stack.push(connection);
    if (this.#sweep === null) {
      this.#sweep = setInterval(this.#sweepIdle, IDLE_SWEEP_MS);
      this.#sweep.unref();
    }
  }

  /** Closes idle connections past their keep time, so the app never sees them linger. */
  readonly #sweepIdle = (): void => {
    const now = performance.now();
    let idle = 0;
    for (const stack of this.#idle.values()) {
      let kept = 0;
      for (const connection of stack) {
        if (connection.usable && now < connection.idleUntil) stack[kept++] = connection;
        else connection.socket.destroy();
      }
      stack.length = kept;
      idle += kept;
    }
    if (idle === 0 && this.#sweep !== null) {
      clearInterval(this.#sweep);
      this.#sweep = null;
    }
  };

  /** Closes every idle connection to `address` (its color was retired). */
  forget(address: Address): void {
    const stack = this.#idle.get(address);
    if (stack === undefined) return;
    this.#idle.delete(address);
    for (const connection of stack) connection.socket.destroy();
  }

  idleCount(address: Address): number {
    return this.#idle.get(address)?.length ?? 0;
  }

  close(): void {
    this.#closed = true;
    for (const address of [...this.#idle.keys()]) this.forget(address);
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#sweep = null;
  }
}
