import assert from 'node:assert/strict';
import { it } from 'node:test';
import { freeFirstIndex } from './rolling-instances.ts';

void it('numbers a new batch after the instances a color holds, reusing freed numbers', () => {
  assert.equal(freeFirstIndex('shop', 'green', [], 1), 1);
  assert.equal(freeFirstIndex('shop', 'green', ['shop-green-1'], 1), 2);
  assert.equal(freeFirstIndex('shop', 'green', ['shop-green-1', 'shop-green-2'], 2), 3);
  // The old color lost 1 and 2 to the shift: going back starts them again under those numbers.
  assert.equal(freeFirstIndex('shop', 'blue', ['shop-blue-3'], 2), 1);
  // A gap too small for the batch is skipped.
  assert.equal(freeFirstIndex('shop', 'blue', ['shop-blue-2', 'shop-blue-4'], 2), 5);
  // Names of another app or color, or not numbered, take no number.
  assert.equal(
    freeFirstIndex('shop', 'blue', ['shop-green-1', 'cart-blue-1', 'shop-blue-x'], 1),
    1,
  );
  assert.equal(freeFirstIndex('sh.p', 'blue', ['shop-blue-1'], 1), 1);
});
