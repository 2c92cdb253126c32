// Listener addresses that cannot be bound fail the start with a message naming the flag.
// Router workers share their ports with SO_REUSEPORT, and Linux then lets a second daemon bind
// the same port silently (the kernel splits connections between them): before starting workers,
// each fixed port is bound once exclusively here, so a port in use is found.
import { createServer } from 'node:net';
import { CutoverError } from '../core/errors.ts';
import { formatHostPort, type HostPort } from './host-port.ts';

export interface NamedAddress {
  readonly flag: string;
  readonly address: HostPort;
}

function bindOnce(address: HostPort): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      server.close(() => resolve());
    });
  });
}

/** Turns a bind error into CUTOVER_ERR_DAEMON_LISTEN_FAILED naming the flag; others pass. */
export function listenError(error: unknown, addresses: readonly NamedAddress[]): unknown {
  const errno = error as NodeJS.ErrnoException & { port?: number; address?: string };
  if (!['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'EPERM'].includes(errno.code ?? '')) return error;
  const named = addresses.find((each) => each.address.port === errno.port) ?? addresses[0];
  const where =
    named === undefined ? 'a listener' : `${named.flag} ${formatHostPort(named.address)}`;
  return new CutoverError(
    'CUTOVER_ERR_DAEMON_LISTEN_FAILED',
    `Cannot listen on ${where} (${errno.code}): ` +
      (errno.code === 'EADDRINUSE'
        ? 'another process (maybe another cutover daemon) uses it; pick another port.'
        : 'the address is not available to this user or host; pick another one.'),
  );
}

/** Binds each fixed port once, exclusively; port 0 is skipped. */
export async function assertPortsFree(addresses: readonly NamedAddress[]): Promise<void> {
  for (const named of addresses) {
    if (named.address.port === 0) continue;
    try {
      await bindOnce(named.address);
    } catch (error) {
      throw listenError(error, [named]);
    }
  }
}
