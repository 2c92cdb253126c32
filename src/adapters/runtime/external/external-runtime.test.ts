import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isCutoverError } from '../../../core/errors.ts';
import { createExternalRuntime } from './external-runtime.ts';

void it('turns addresses into instances named after app, color and position', async () => {
  const runtime = createExternalRuntime();
  assert.equal(runtime.kind, 'external');
  const instances = await runtime.start({
    app: 'shop',
    release: 'v1',
    color: 'blue',
    addresses: ['127.0.0.1:3001', '[::1]:3002'],
  });
  assert.deepEqual(instances, [
    { id: 'shop-blue-1', address: '127.0.0.1:3001' },
    { id: 'shop-blue-2', address: '[::1]:3002' },
  ]);
  // Stop is a no-op: the instances are not ours; it must not throw, twice.
  await runtime.stop('shop', instances);
  await runtime.stop('shop', instances);
});

void it('names the bad address, and refuses no addresses', async () => {
  const runtime = createExternalRuntime();
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v1', addresses: ['127.0.0.1:3001', 'localhost'] }),
    (error: unknown) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_USAGE');
      assert.match(error.message, /"localhost"/);
      return true;
    },
  );
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v1' }),
    /needs the instance addresses/,
  );
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v1', addresses: [] }),
    /at least one/,
  );
});

void it('names instances from firstIndex, for a color started a batch at a time', async () => {
  const runtime = createExternalRuntime();
  const instances = await runtime.start({
    app: 'shop',
    release: 'v2',
    color: 'green',
    addresses: ['127.0.0.1:3003', '127.0.0.1:3004'],
    firstIndex: 3,
  });
  assert.deepEqual(
    instances.map((instance) => instance.id),
    ['shop-green-3', 'shop-green-4'],
  );
  await assert.rejects(
    runtime.start({ app: 'shop', release: 'v2', addresses: ['127.0.0.1:3003'], firstIndex: 0 }),
    /firstIndex must be a whole number from 1, got 0/,
  );
});
