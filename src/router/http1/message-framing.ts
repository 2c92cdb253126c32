// Protocol engine: how long a message body is (RFC 9112 §6). The router decides this itself and
// never trusts a parser downstream to agree: ambiguous framing is refused, not guessed.

export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Response only: the body runs until the upstream closes (RFC 9112 §6.3 rule 8). */
  | { readonly kind: 'close' };

export type FramingError =
  | 'content-length-and-transfer-encoding'
  | 'duplicate-content-length'
  | 'bad-content-length'
  | 'unsupported-transfer-encoding'
  | 'transfer-encoding-on-http10';

export type FramingResult =
  | { readonly ok: true; readonly framing: BodyFraming }
  | { readonly ok: false; readonly error: FramingError };

/** Bodies above this are refused as framing errors (no 2^53 arithmetic surprises). */
export const MAX_CONTENT_LENGTH = 2 ** 50;

// Shared results: framing is decided twice per request, and these are never mutated.
const NO_BODY: FramingResult = { ok: true, framing: { kind: 'none' } };
const CLOSE_DELIMITED: FramingResult = { ok: true, framing: { kind: 'close' } };
const CHUNKED: FramingResult = { ok: true, framing: { kind: 'chunked' } };

interface FramingFields {
  contentLength: string | undefined;
  contentLengthCount: number;
  transferEncoding: string[];
}

function collect(rawHeaders: readonly string[]): FramingFields {
  const fields: FramingFields = {
    contentLength: undefined,
    contentLengthCount: 0,
    transferEncoding: [],
  };
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      fields.contentLength = rawHeaders[i + 1];
      fields.contentLengthCount++;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      fields.transferEncoding.push(rawHeaders[i + 1] as string);
    }
  }
  return fields;
}

function parseContentLength(value: string): number | undefined {
  // RFC 9110 §8.6: 1*DIGIT. A list like "5, 5" is refused, though the RFC allows folding it.
  if (!/^[0-9]{1,16}$/.test(value)) return undefined;
  const length = Number(value);
  return length <= MAX_CONTENT_LENGTH ? length : undefined;
}

/** Only `chunked`, alone, is accepted: every other coding is refused rather than passed on. */
function isChunkedOnly(values: readonly string[]): boolean {
  return values.length === 1 && (values[0] as string).toLowerCase() === 'chunked';
}

function common(fields: FramingFields, versionMinor: 0 | 1): FramingResult | undefined {
  if (fields.transferEncoding.length > 0) {
    // RFC 9112 §6.1: a message with both is a smuggling attempt as far as a proxy is concerned.
    if (fields.contentLengthCount > 0)
      return { ok: false, error: 'content-length-and-transfer-encoding' };
    if (versionMinor === 0) return { ok: false, error: 'transfer-encoding-on-http10' };
    if (!isChunkedOnly(fields.transferEncoding))
      return { ok: false, error: 'unsupported-transfer-encoding' };
    return CHUNKED;
  }
  if (fields.contentLengthCount > 1) return { ok: false, error: 'duplicate-content-length' };
  if (fields.contentLength !== undefined) {
    const length = parseContentLength(fields.contentLength);
    if (length === undefined) return { ok: false, error: 'bad-content-length' };
    return length === 0 ? NO_BODY : { ok: true, framing: { kind: 'length', length } };
  }
  return undefined;
}

/** Request body framing (RFC 9112 §6.3 rules 3-6): no length and no chunked means no body. */
export function requestFraming(rawHeaders: readonly string[], versionMinor: 0 | 1): FramingResult {
  return common(collect(rawHeaders), versionMinor) ?? NO_BODY;
}

/** Response body framing (RFC 9112 §6.3 rules 1-2, 4-8). */
export function responseFraming(
  rawHeaders: readonly string[],
  versionMinor: 0 | 1,
  status: number,
  requestMethod: string,
): FramingResult {
  if (requestMethod === 'HEAD' || status < 200 || status === 204 || status === 304) {
    // No body whatever the fields say, but the client's parser still reads Content-Length: a
    // malformed or repeated one would break it there, so it is refused here (RFC 9110 §8.6).
    const fields = collect(rawHeaders);
    if (fields.contentLengthCount > 1) return { ok: false, error: 'duplicate-content-length' };
    if (
      fields.contentLength !== undefined &&
      parseContentLength(fields.contentLength) === undefined
    ) {
      return { ok: false, error: 'bad-content-length' };
    }
    return NO_BODY;
  }
  return common(collect(rawHeaders), versionMinor) ?? CLOSE_DELIMITED;
}
