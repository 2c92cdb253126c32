import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkedDecoder } from './chunked-decoder.ts';
import {
  encodeHead,
  findHeadEnd,
  parseRequestHead,
  parseResponseHead,
  serializeRequestHead,
  serializeResponseHead,
} from './head-parser.ts';
import { requestFraming, responseFraming } from './message-framing.ts';

const LIMITS = { maxFields: 100 };
const req = (text: string) => parseRequestHead(Buffer.from(text, 'latin1'), LIMITS);

describe('parseRequestHead', () => {
  it('parses a plain request and keeps duplicate fields in order', () => {
    const result = req('GET /a?b=1 HTTP/1.1\r\nHost: shop\r\nX-A: 1\r\nx-a:  2 \r\n\r\n');
    assert.ok(result.ok);
    assert.equal(result.head.method, 'GET');
    assert.equal(result.head.target, '/a?b=1');
    assert.equal(result.head.versionMinor, 1);
    assert.deepEqual(result.head.rawHeaders, ['Host', 'shop', 'X-A', '1', 'x-a', '2']);
  });

  const refused: Array<[string, string]> = [
    ['GET / HTTP/1.1\nHost: a\n\n', 'bare-lf'],
    ['GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n', 'bare-cr'],
    ['GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', 'obs-fold'],
    ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'space-before-colon'],
    ['GET / HTTP/1.1\r\nHo(st: a\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\n: a\r\n\r\n', 'bad-field-name'],
    ['GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n', 'bad-field-value'],
    ['GET / HTTP/2.0\r\nHost: a\r\n\r\n', 'bad-version'],
    ['GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 'bad-start-line'],
    ['GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n', 'bad-target'],
    ['G@T / HTTP/1.1\r\nHost: a\r\n\r\n', 'bad-method'],
  ];
  for (const [text, error] of refused) {
    it(`refuses ${JSON.stringify(text)} as ${error}`, () => {
      assert.deepEqual(req(text), { ok: false, error });
    });
  }

  it('refuses too many fields', () => {
    const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('');
    assert.deepEqual(req(`GET / HTTP/1.1\r\n${fields}\r\n`), {
      ok: false,
      error: 'too-many-fields',
    });
  });

  it('round-trips through serializeRequestHead for any valid field set', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
    const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(token, value), { maxLength: 20 }), (pairs) => {
        const flat = pairs.flat();
        const text = serializeRequestHead('POST', '/x', flat);
        const result = req(text);
        assert.ok(result.ok);
        assert.deepEqual(result.head.rawHeaders, flat);
        assert.deepEqual(
          result.head.names,
          pairs.map(([name]) => name.toLowerCase()),
        );
      }),
    );
  });
});

describe('encodeHead', () => {
  it('writes the same bytes as the serialize functions, then the body bytes', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
    // obs-text included: a head is latin1, one byte per character.
    const value = fc.stringMatching(
      /^[\x21-\x7e\xa0-\xff]([\x20-\x7e\x80-\xff]{0,30}[\x21-\xff])?$/,
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(token, value), { maxLength: 20 }),
        fc.uint8Array({ maxLength: 40 }),
        (pairs, body) => {
          const flat = pairs.flat();
          const bytes = Buffer.from(body);
          assert.deepEqual(
            encodeHead('GET /a?b HTTP/1.1', flat, null),
            Buffer.from(serializeRequestHead('GET', '/a?b', flat), 'latin1'),
          );
          assert.deepEqual(
            encodeHead('HTTP/1.1 200 OK', flat, bytes),
            Buffer.concat([Buffer.from(serializeResponseHead(200, 'OK', flat), 'latin1'), bytes]),
          );
        },
      ),
    );
  });
});

describe('findHeadEnd', () => {
  it('finds CRLF CRLF and surfaces a bare-LF head instead of waiting', () => {
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n\r\nbody')), 24);
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n')), -1);
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\nA: b\n\n')), 21);
  });
});

describe('parseResponseHead', () => {
  it('parses status, reason and fields', () => {
    const result = parseResponseHead(Buffer.from('HTTP/1.1 404 Not Found\r\nA: 1\r\n\r\n'), LIMITS);
    assert.ok(result.ok);
    assert.equal(result.head.status, 404);
    assert.equal(result.head.reason, 'Not Found');
  });
  it('accepts an empty reason and refuses a bad status', () => {
    assert.ok(parseResponseHead(Buffer.from('HTTP/1.1 204\r\n\r\n'), LIMITS).ok);
    assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 2000 x\r\n\r\n'), LIMITS).ok, false);
    assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 099 x\r\n\r\n'), LIMITS).ok, false);
  });
});

describe('message framing', () => {
  it('refuses every ambiguous request framing', () => {
    const cases: Array<[string[], 0 | 1, string]> = [
      [
        ['Content-Length', '5', 'Transfer-Encoding', 'chunked'],
        1,
        'content-length-and-transfer-encoding',
      ],
      [['Content-Length', '5', 'Content-Length', '5'], 1, 'duplicate-content-length'],
      [['Content-Length', '5, 5'], 1, 'bad-content-length'],
      [['Content-Length', '+5'], 1, 'bad-content-length'],
      [['Content-Length', '0x5'], 1, 'bad-content-length'],
      [['Transfer-Encoding', 'xchunked'], 1, 'unsupported-transfer-encoding'],
      [['Transfer-Encoding', 'chunked, identity'], 1, 'unsupported-transfer-encoding'],
      [['Transfer-Encoding', 'gzip, chunked'], 1, 'unsupported-transfer-encoding'],
      [
        ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'],
        1,
        'unsupported-transfer-encoding',
      ],
      [['Transfer-Encoding', 'chunked'], 0, 'transfer-encoding-on-http10'],
    ];
    for (const [headers, minor, error] of cases) {
      assert.deepEqual(
        requestFraming(headers, minor),
        { ok: false, error },
        JSON.stringify(headers),
      );
    }
  });
  it('frames requests and responses', () => {
    assert.deepEqual(requestFraming([], 1), { ok: true, framing: { kind: 'none' } });
    assert.deepEqual(requestFraming(['content-length', '12'], 1), {
      ok: true,
      framing: { kind: 'length', length: 12 },
    });
    assert.deepEqual(requestFraming(['Transfer-Encoding', 'Chunked'], 1), {
      ok: true,
      framing: { kind: 'chunked' },
    });
    assert.deepEqual(responseFraming([], 1, 200, 'GET'), { ok: true, framing: { kind: 'close' } });
    assert.deepEqual(responseFraming(['Content-Length', '9'], 1, 200, 'HEAD'), {
      ok: true,
      framing: { kind: 'none' },
    });
    assert.deepEqual(responseFraming([], 1, 304, 'GET'), { ok: true, framing: { kind: 'none' } });
    // Bodiless, yet a malformed Content-Length would still break the client's parser.
    assert.deepEqual(responseFraming(['Content-Length', 'a 0'], 1, 204, 'GET'), {
      ok: false,
      error: 'bad-content-length',
    });
    assert.deepEqual(
      responseFraming(['Content-Length', '5', 'content-length', '5'], 1, 304, 'GET'),
      {
        ok: false,
        error: 'duplicate-content-length',
      },
    );
    assert.deepEqual(responseFraming(['Content-Length', '12'], 1, 200, 'HEAD'), {
      ok: true,
      framing: { kind: 'none' },
    });
  });
});

function decodeAll(
  body: string,
  splitAt: number[] = [],
): { consumed: number; done: boolean; error?: string } {
  const bytes = Buffer.from(body, 'latin1');
  const decoder = new ChunkedDecoder();
  let offset = 0;
  const cuts = [
    ...splitAt.filter((n) => n > 0 && n < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ];
  for (const cut of cuts) {
    if (cut <= offset) continue;
    const progress = decoder.push(bytes.subarray(offset, cut));
    offset += progress.consumed;
    if (progress.error !== undefined || progress.done) return { ...progress, consumed: offset };
  }
  return { consumed: offset, done: decoder.done };
}

describe('ChunkedDecoder', () => {
  it('accepts a body with extensions and trailers and stops at its end', () => {
    const body = '5;name=v\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
    assert.deepEqual(decodeAll(body + 'GET / HTTP/1.1'), { consumed: body.length, done: true });
  });
  it('gives the same verdict however the bytes are split', () => {
    const body = '1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3 ; x\r\nabc\r\n0\r\n\r\n';
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 6 }),
        (cuts) => {
          assert.deepEqual(decodeAll(body, cuts), { consumed: body.length, done: true });
        },
      ),
    );
  });
  const refused: Array<[string, string]> = [
    ['x\r\n', 'bad-chunk-size'],
    ['-1\r\n', 'bad-chunk-size'],
    ['5\nhello\r\n', 'bad-chunk-size'],
    ['5\r\nhelloX\r\n', 'missing-crlf'],
    ['5 x\r\nhello\r\n', 'bad-chunk-extension'],
    ['5;a\x00\r\n', 'bad-chunk-extension'],
    ['fffffffffffffff\r\n', 'chunk-size-too-large'],
    [`1;${'a'.repeat(5000)}\r\n`, 'chunk-extension-too-long'],
    ['0\r\nX: 1\n\r\n', 'bad-trailer'],
  ];
  for (const [body, error] of refused) {
    it(`refuses ${JSON.stringify(body.slice(0, 24))} as ${error}`, () => {
      assert.equal(decodeAll(body).error, error);
    });
  }
  it('refuses an extension flood spread over many chunks', () => {
    const chunk = `1;${'e'.repeat(1000)}\r\na\r\n`;
    assert.equal(decodeAll(chunk.repeat(20)).error, 'chunk-extension-too-long');
  });
});
