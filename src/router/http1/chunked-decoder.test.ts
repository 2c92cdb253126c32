import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkedDecoder } from './chunked-decoder.ts';

function decode(body: string): { done: boolean; error: string | undefined } {
  const progress = new ChunkedDecoder().push(Buffer.from(body, 'latin1'));
  return { done: progress.done, error: progress.error };
}

describe('ChunkedDecoder trailer section', () => {
  it('accepts field lines and the empty line that ends them', () => {
    assert.deepEqual(decode('3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other:\t2 \r\n\r\n'), {
      done: true,
      error: undefined,
    });
  });

  it('refuses a trailer line that is not a field line (RFC 9112 §5)', () => {
    for (const line of ['-', 'no colon', ' X: folded', 'X : space before colon', ':empty name']) {
      assert.equal(decode(`0\r\n${line}\r\n\r\n`).error, 'bad-trailer', JSON.stringify(line));
    }
  });

  it('refuses a control character in a trailer value', () => {
    assert.equal(decode('0\r\nX: a\u0001b\r\n\r\n').error, 'bad-trailer');
  });
});
