import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCutoverError } from '../../core/errors.ts';
import {
  adminOrigin,
  allowedHosts,
  checkJsonContentType,
  parseIfMatch,
  tokenMatches,
} from './admin-guard.ts';

describe('admin guard', () => {
  it('compares tokens of any length without throwing (digests are equal-length)', () => {
    const token = 'a-long-enough-token-0123456789';
    assert.equal(tokenMatches(token, token), true);
    assert.equal(tokenMatches(`${token}x`, token), false);
    assert.equal(tokenMatches('', token), false);
    assert.equal(tokenMatches('x'.repeat(10_000), token), false);
  });

  it('answers only to its own loopback host:port, IPv6 in brackets', () => {
    assert.deepEqual(
      [...allowedHosts({ host: '127.0.0.1', port: 9000 })],
      ['127.0.0.1:9000', 'localhost:9000'],
    );
    assert.ok(allowedHosts({ host: '::1', port: 9000 }).has('[::1]:9000'));
    assert.equal(adminOrigin({ host: '::1', port: 9000 }), 'http://[::1]:9000');
  });

  it('reads If-Match as a quoted revision, and refuses anything else', () => {
    assert.equal(parseIfMatch({ 'if-match': '"42"' }), 42);
    assert.equal(parseIfMatch({ 'if-match': 'W/"42"' }), 42);
    assert.equal(parseIfMatch({ 'if-match': '*' }), undefined);
    assert.equal(parseIfMatch({}), undefined);
    assert.equal(parseIfMatch({ 'if-match': '7' }), 7);
    for (const bad of ['"abc"', '"-1"', '"1", "2"', '1.5', '"42', '42"']) {
      assert.throws(
        () => parseIfMatch({ 'if-match': bad }),
        (error: unknown) => isCutoverError(error) && error.code === 'CUTOVER_ERR_USAGE',
        bad,
      );
    }
  });

  it('accepts JSON with parameters, refuses other media types', () => {
    checkJsonContentType({ 'content-type': 'application/json; charset=utf-8' });
    checkJsonContentType({ 'content-type': 'Application/JSON' });
    for (const type of [undefined, 'text/plain', 'application/jsonp', 'application/json-seq']) {
      assert.throws(
        () => checkJsonContentType(type === undefined ? {} : { 'content-type': type }),
        (error: unknown) =>
          isCutoverError(error) && error.code === 'CUTOVER_ERR_ADMIN_UNSUPPORTED_MEDIA',
        String(type),
      );
    }
  });
});
