// Many keep-alive client connections that each make one request and then stay idle: what the
// `conns` benchmark holds open against a proxy while it reads the proxy's memory.
import { connect, type Socket } from 'node:net';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
const RESPONSE_TIMEOUT_MS = 10_000;

/** Opens one connection, sends one request, resolves once the response head has arrived. */
function openOne(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no response within 10 s'));
    }, RESPONSE_TIMEOUT_MS);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => socket.write(REQUEST));
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      socket.off('data', onData);
      // Keep reading (and dropping) so a late body or a close is noticed, never buffered.
      socket.on('data', () => undefined);
      if (!/^HTTP\/1\.1 200 /.test(head)) {
        socket.destroy();
        reject(new Error(`unexpected response: ${head.split('\r\n')[0] ?? ''}`));
        return;
      }
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

export interface IdleConnections {
  readonly sockets: readonly Socket[];
  readonly failed: number;
  readonly firstError: string | null;
  /** How many are still open (not closed by the server). */
  openCount(): number;
  closeAll(): void;
}

/** Opens `count` connections, `batch` at a time. */
export async function openIdleConnections(
  port: number,
  count: number,
  batch: number,
): Promise<IdleConnections> {
  const sockets: Socket[] = [];
  let failed = 0;
  let firstError: string | null = null;
  for (let opened = 0; opened < count; opened += batch) {
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(batch, count - opened) }, () => openOne(port)),
    );
    for (const result of results) {
      if (result.status === 'fulfilled') sockets.push(result.value);
      else {
        failed += 1;
        firstError ??= String(result.reason);
      }
    }
  }
  return {
    sockets,
    failed,
    firstError,
    openCount: () => sockets.filter((socket) => !socket.destroyed && socket.readable).length,
    closeAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
