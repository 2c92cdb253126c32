import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isCutoverError } from '../core/errors.ts';
import { assertPortsFree, listenError } from './port-check.ts';

describe('port check', () => {
  it('names the flag whose port another process holds, even one bound with SO_REUSEPORT', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) =>
      holder.listen({ host: '127.0.0.1', port: 0, reusePort: true }, resolve),
    );
    const port = (holder.address() as AddressInfo).port;
    try {
      await assert.rejects(
        assertPortsFree([
          { flag: '--preview', address: { host: '127.0.0.1', port: 0 } },
          { flag: '--public', address: { host: '127.0.0.1', port } },
        ]),
        (error: unknown) =>
          isCutoverError(error) &&
          error.code === 'CUTOVER_ERR_DAEMON_LISTEN_FAILED' &&
          error.message.includes(`--public 127.0.0.1:${port}`),
      );
    } finally {
      holder.close();
    }
    await assertPortsFree([{ flag: '--public', address: { host: '127.0.0.1', port } }]);
  });

  it('leaves errors that are not about binding alone', () => {
    const other = new Error('boom');
    assert.equal(listenError(other, []), other);
  });
});
