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

/**
 * Feeds `body` the way the router's request path does: whatever the decoder leaves unconsumed
 * stays buffered and is pushed again with the next bytes. Returns every byte it would forward.
 */
function forwardInPieces(
  body: string,
  cuts: number[],
): { forwarded: string; error?: string; done: boolean } {
  const decoder = new ChunkedDecoder({ wholeLines: true });
  const bytes = Buffer.from(body, 'latin1');
  let buffered = Buffer.alloc(0);
  let forwarded = '';
  let offset = 0;
  for (const cut of [
    ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ]) {
    if (cut <= offset) continue;
    buffered = Buffer.concat([buffered, bytes.subarray(offset, cut)]);
    offset = cut;
    const progress = decoder.push(buffered);
    forwarded += buffered.subarray(0, progress.consumed).toString('latin1');
    buffered = buffered.subarray(progress.consumed);
    if (progress.error !== undefined) return { forwarded, error: progress.error, done: false };
    if (progress.done) return { forwarded, done: true };
  }
  return { forwarded, done: false };
}

describe('ChunkedDecoder whole-line mode (request bodies)', () => {
  it('never forwards a byte of a size line that turns out malformed', () => {
    const smuggle = '2\tb\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n';
    assert.deepEqual(forwardInPieces(smuggle, []), {
      forwarded: '',
      error: 'bad-chunk-extension',
      done: false,
    });
    assert.deepEqual(forwardInPieces('3\r\nabc\r\n2\tb\r\n', [1, 5, 9, 11]), {
      forwarded: '3\r\nabc\r\n',
      error: 'bad-chunk-extension',
      done: false,
    });
  });

  it('holds a partial line until it is whole, however the bytes are split', () => {
    const body = '1a;x=1\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n';
    for (let cut = 1; cut < body.length; cut++) {
      assert.deepEqual(
        forwardInPieces(body, [cut, cut + 3]),
        { forwarded: body, done: true },
        `cut ${cut}`,
      );
    }
  });

  it('withholds a bad CRLF after chunk data and a malformed trailer line', () => {
    assert.deepEqual(forwardInPieces('3\r\nabcX\r\n', []), {
      forwarded: '3\r\nabc',
      error: 'missing-crlf',
      done: false,
    });
    assert.deepEqual(forwardInPieces('0\r\nno colon\r\n\r\n', [4, 6]), {
      forwarded: '0\r\n',
      error: 'bad-trailer',
      done: false,
    });
  });

  it('refuses a size line that never ends instead of buffering it forever', () => {
    assert.equal(
      forwardInPieces(`1;${'e'.repeat(5000)}`, [100, 2000]).error,
      'chunk-extension-too-long',
    );
  });
});

/**
 * Feeds `body` in pieces as the router does and gathers the data views the decoder reports
 * (a mirrored copy's body), copied at once, as the router's collector does.
 */
function dechunkInPieces(
  body: string,
  cuts: number[],
): { data: string; forwarded: string; error?: string; done: boolean } {
  const decoder = new ChunkedDecoder({ wholeLines: true });
  const bytes = Buffer.from(body, 'latin1');
  let buffered = Buffer.alloc(0);
  let forwarded = '';
  let data = '';
  let offset = 0;
  for (const cut of [...cuts.filter((c) => c > offset && c < bytes.length), bytes.length]) {
    if (cut <= offset) continue;
    buffered = Buffer.concat([buffered, bytes.subarray(offset, cut)]);
    offset = cut;
    const views: Buffer[] = [];
    const progress = decoder.push(buffered, views);
    for (const view of views) {
      // Every view lies within the consumed (forwarded) part of this push.
      assert.ok(view.buffer === buffered.buffer);
      const start = view.byteOffset - buffered.byteOffset;
      assert.ok(start >= 0 && start + view.length <= progress.consumed, 'a view past consumed');
      data += view.toString('latin1');
    }
    forwarded += buffered.subarray(0, progress.consumed).toString('latin1');
    buffered = buffered.subarray(progress.consumed);
    if (progress.error !== undefined)
      return { data, forwarded, error: progress.error, done: false };
    if (progress.done) return { data, forwarded, done: true };
  }
  return { data, forwarded, done: false };
}

describe('ChunkedDecoder data views (a mirrored copy of a chunked body)', () => {
  it('reports the chunk data only: no sizes, extensions, CRLFs or trailers, however split', () => {
    const body = '1a;x=1\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\n\r\nA\r\n0\r\nX-T: 1\r\n\r\n';
    for (let cut = 1; cut < body.length; cut++) {
      for (const step of [1, 4]) {
        assert.deepEqual(
          dechunkInPieces(body, [cut, cut + step]),
          { data: 'abcdefghijklmnopqrstuvwxyz\r\nA', forwarded: body, done: true },
          `cut ${cut}, step ${step}`,
        );
      }
    }
  });

  it('reports nothing for an empty body, and no data past a malformed line', () => {
    assert.deepEqual(dechunkInPieces('0\r\n\r\n', [1, 2]), {
      data: '',
      forwarded: '0\r\n\r\n',
      done: true,
    });
    assert.deepEqual(dechunkInPieces('3\r\nabc\r\n2\tb\r\nxy\r\n0\r\n\r\n', [5]), {
      data: 'abc',
      forwarded: '3\r\nabc\r\n',
      error: 'bad-chunk-extension',
      done: false,
    });
  });

  it('adds no view when no array is given (the live path without a mirror)', () => {
    const decoder = new ChunkedDecoder({ wholeLines: true });
    const progress = decoder.push(Buffer.from('3\r\nabc\r\n0\r\n\r\n'));
    assert.deepEqual(progress, { consumed: 13, done: true });
  });
});
