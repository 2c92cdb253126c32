// Idle keep-alive connections to instances, one stack per address, for the raw forwarding path.
// The pool closes an idle connection before the app would (its idle timeout is below the app's),
// so a reused connection is rarely one the app is closing at that very moment (QUALITY.md A6).
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

export interface AcquiredSocket {
  readonly socket: net.Socket;
  /** True when the socket served an earlier exchange: it may have been closed by the app. */
  readonly reused: boolean;
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

function onIdleEvent(this: net.Socket): void {
  this.destroy();
}

export class UpstreamSocketPool {
  readonly #options: UpstreamSocketPoolOptions;
  readonly #idle = new Map<Address, net.Socket[]>();
  #closed = false;

  constructor(options: UpstreamSocketPoolOptions = DEFAULT_UPSTREAM_SOCKET_POOL_OPTIONS) {
    this.#options = options;
  }

  /** An idle connection (most recently used first), or a new one that is connecting. */
  acquire(address: Address): AcquiredSocket {
    const stack = this.#idle.get(address);
    while (stack !== undefined && stack.length > 0) {
      const socket = stack.pop() as net.Socket;
      socket.off('error', onIdleEvent);
      socket.off('close', onIdleEvent);
      socket.off('data', onIdleEvent);
      socket.off('timeout', onIdleEvent);
      socket.setTimeout(0);
      if (!socket.destroyed && socket.readyState === 'open') return { socket, reused: true };
      socket.destroy();
    }
    const { host, port } = splitAddress(address);
    const socket = net.connect({ host, port, noDelay: true });
    socket.setTimeout(this.#options.connectTimeoutMs);
    socket.once('connect', () => socket.setTimeout(0));
    return { socket, reused: false };
  }

  /**
   * Returns a connection whose exchange ended cleanly; anything odd about it closes it.
   * `idleMs` (from the app's `Keep-Alive: timeout=N`, less a margin) shortens how long it waits
   * for reuse, so the router never sends on a connection the app is about to close.
   */
  release(address: Address, socket: net.Socket, idleMs?: number): void {
    const keepMs = Math.min(idleMs ?? this.#options.idleTimeoutMs, this.#options.idleTimeoutMs);
    if (this.#closed || socket.destroyed || socket.readyState !== 'open' || keepMs <= 0) {
      socket.destroy();
      return;
    }
    let stack = this.#idle.get(address);
    if (stack === undefined) {
      stack = [];
      this.#idle.set(address, stack);
    }
    if (stack.length >= this.#options.maxIdlePerAddress) {
      socket.destroy();
      return;
    }
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.removeAllListeners('drain');
    socket.removeAllListeners('timeout');
    // Any byte, end or error while idle means the connection is no longer usable.
    socket.on('error', onIdleEvent);
    socket.on('close', onIdleEvent);
    socket.on('data', onIdleEvent);
    socket.on('end', onIdleEvent);
    socket.on('timeout', onIdleEvent);
    socket.setTimeout(keepMs);
    if (socket.isPaused()) socket.resume();
    stack.push(socket);
  }

  /** Closes every idle connection to `address` (its color was retired). */
  forget(address: Address): void {
    const stack = this.#idle.get(address);
    if (stack === undefined) return;
    this.#idle.delete(address);
    for (const socket of stack) socket.destroy();
  }

  idleCount(address: Address): number {
    return this.#idle.get(address)?.length ?? 0;
  }

  close(): void {
    this.#closed = true;
    for (const address of [...this.#idle.keys()]) this.forget(address);
  }
}
