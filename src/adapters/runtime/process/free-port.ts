// Finds a free TCP port by binding port 0 and releasing it. Another process may take the port
// in the short window before the instance binds it; the instance then fails to listen, crashes
// and is restarted, and its health check stays down meanwhile.
import { createServer } from 'node:net';

export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`Could not read the port bound on ${host}.`));
      });
    });
  });
}
