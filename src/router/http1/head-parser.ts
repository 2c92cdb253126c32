// Protocol engine: a strict HTTP/1.1 message-head parser (RFC 9112 §2-§5), for the router's raw
// socket fast path. It takes the bytes of one complete head (start line to the empty line) and
// refuses anything a lenient parser would guess at: bare LF or CR, obs-fold, whitespace before
// the colon, non-token field names, control characters in values, oversized or too many fields.
// Refusing is the point: two parsers that disagree about a message are a smuggling vector.

/** Why a head was refused; the router answers 400 (or 431 for the size limits) and closes. */
export type HeadError =
  | 'bad-start-line'
  | 'bad-method'
  | 'bad-target'
  | 'bad-version'
  | 'bad-status'
  | 'bare-lf'
  | 'bare-cr'
  | 'obs-fold'
  | 'bad-field-name'
  | 'space-before-colon'
  | 'bad-field-value'
  | 'too-many-fields';

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: 0 | 1;
  /** Flat [name, value, name, value, ...] in arrival order, names as sent, values trimmed. */
  readonly rawHeaders: string[];
  /** The field names lower-cased, one per field: every later pass reads these. */
  readonly names: string[];
}

export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly versionMinor: 0 | 1;
  readonly rawHeaders: string[];
  readonly names: string[];
}

export type ParseResult<T> =
  { readonly ok: true; readonly head: T } | { readonly ok: false; readonly error: HeadError };

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

/** tchar of RFC 9110 §5.6.2, as a lookup table over byte values. */
const TOKEN = new Uint8Array(256);
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/**
 * Finds the end of a head: the index just past CRLF CRLF, or -1 when more bytes are needed.
 * Searching for the two-byte LF sequences too lets a bare-LF head be refused instead of waited on.
 */
export function findHeadEnd(buffer: Buffer, from = 0): number {
  const crlf = buffer.indexOf('\r\n\r\n', from, 'latin1');
  const lflf = buffer.indexOf('\n\n', from, 'latin1');
  if (lflf !== -1 && (crlf === -1 || lflf < crlf)) return lflf + 2;
  return crlf === -1 ? -1 : crlf + 4;
}

/**
 * Checks that a head uses CRLF everywhere (RFC 9112 §2.2: no bare CR or LF) and ends with the
 * empty line. Returns the index of the start line's CR. One pass over the characters, with no
 * array of lines: the fields are read in place afterwards.
 */
function checkLines(head: string): number | HeadError {
  let firstCr = -1;
  let start = 0;
  let lineStart = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c === CR) {
      if (head.charCodeAt(i + 1) !== LF) return 'bare-cr';
      if (firstCr === -1) firstCr = i;
      lineStart = start;
      i++;
      start = i + 1;
    } else if (c === LF) {
      return 'bare-lf';
    }
  }
  if (start !== head.length) return 'bad-start-line';
  // The head ends with an empty line, and has a start line before it.
  if (firstCr === -1 || start - lineStart !== 2 || firstCr === head.length - 2) {
    return 'bad-start-line';
  }
  return firstCr;
}

/** Counts the field lines between the start line's CRLF and the final empty line. */
function countFieldLines(head: string, from: number): number {
  let count = 0;
  for (
    let i = head.indexOf('\r', from);
    i !== -1 && i < head.length - 2;
    i = head.indexOf('\r', i + 2)
  ) {
    count++;
  }
  return count;
}

/** Reads the field lines after the start line (`firstCr` is its CR), in place. */
interface Fields {
  readonly rawHeaders: string[];
  readonly names: string[];
}

function parseFields(head: string, firstCr: number, maxFields: number): Fields | HeadError {
  const from = firstCr + 2;
  const last = head.length - 2;
  if (countFieldLines(head, from) > maxFields) return 'too-many-fields';
  const raw: string[] = [];
  const names: string[] = [];
  let lineStart = from;
  while (lineStart < last) {
    const lineEnd = head.indexOf('\r', lineStart);
    const first = head.charCodeAt(lineStart);
    // RFC 9112 §5.2: obs-fold is refused with 400 by a proxy that does not unfold it.
    if (first === SP || first === HTAB) return 'obs-fold';
    let colon = -1;
    for (let i = lineStart; i < lineEnd; i++) {
      const c = head.charCodeAt(i);
      if (c === 58) {
        colon = i;
        break;
      }
    }
    if (colon <= lineStart) return 'bad-field-name';
    for (let i = lineStart; i < colon; i++) {
      const c = head.charCodeAt(i);
      if (c === SP || c === HTAB) return 'space-before-colon';
      if (c > 255 || TOKEN[c] !== 1) return 'bad-field-name';
    }
    // RFC 9110 §5.5: field-value = *field-content; VCHAR, obs-text, SP and HTAB only.
    let start = colon + 1;
    let end = lineEnd;
    while (start < end && (head.charCodeAt(start) === SP || head.charCodeAt(start) === HTAB)) {
      start++;
    }
    while (end > start && (head.charCodeAt(end - 1) === SP || head.charCodeAt(end - 1) === HTAB)) {
      end--;
    }
    for (let i = start; i < end; i++) {
      const c = head.charCodeAt(i);
      if ((c < 0x20 && c !== HTAB) || c === 0x7f || c > 0xff) return 'bad-field-value';
    }
    const name = head.slice(lineStart, colon);
    raw.push(name, head.slice(start, end));
    names.push(name.toLowerCase());
    lineStart = lineEnd + 2;
  }
  return { rawHeaders: raw, names };
}

function parseVersion(text: string): 0 | 1 | undefined {
  if (text === 'HTTP/1.1') return 1;
  if (text === 'HTTP/1.0') return 0;
  return undefined;
}

export interface HeadLimits {
  readonly maxFields: number;
}

/** Parses a complete request head (RFC 9112 §3): `method SP request-target SP HTTP-version`. */
export function parseRequestHead(bytes: Buffer, limits: HeadLimits): ParseResult<RequestHead> {
  const text = bytes.toString('latin1');
  const firstCr = checkLines(text);
  if (typeof firstCr === 'string') return { ok: false, error: firstCr };
  const start = text.slice(0, firstCr);
  const sp1 = start.indexOf(' ');
  const sp2 = sp1 === -1 ? -1 : start.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || start.indexOf(' ', sp2 + 1) !== -1) {
    return { ok: false, error: 'bad-start-line' };
  }
  const method = start.slice(0, sp1);
  for (let i = 0; i < method.length; i++) {
    if (TOKEN[method.charCodeAt(i)] !== 1) return { ok: false, error: 'bad-method' };
  }
  const target = start.slice(sp1 + 1, sp2);
  if (target.length === 0) return { ok: false, error: 'bad-target' };
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    // Visible US-ASCII only; anything else must arrive percent-encoded (RFC 3986 §2).
    if (c <= 0x20 || c >= 0x7f) return { ok: false, error: 'bad-target' };
  }
  const versionMinor = parseVersion(start.slice(sp2 + 1));
  if (versionMinor === undefined) return { ok: false, error: 'bad-version' };
  const fields = parseFields(text, firstCr, limits.maxFields);
  if (typeof fields === 'string') return { ok: false, error: fields };
  const { rawHeaders, names } = fields;
  return { ok: true, head: { method, target, versionMinor, rawHeaders, names } };
}

/** Parses a complete response head (RFC 9112 §4): `HTTP-version SP status-code SP [reason]`. */
export function parseResponseHead(bytes: Buffer, limits: HeadLimits): ParseResult<ResponseHead> {
  const text = bytes.toString('latin1');
  const firstCr = checkLines(text);
  if (typeof firstCr === 'string') return { ok: false, error: firstCr };
  const start = text.slice(0, firstCr);
  const versionMinor = parseVersion(start.slice(0, 8));
  if (versionMinor === undefined || start.charCodeAt(8) !== SP) {
    return { ok: false, error: 'bad-version' };
  }
  const d0 = start.charCodeAt(9) - 48;
  const d1 = start.charCodeAt(10) - 48;
  const d2 = start.charCodeAt(11) - 48;
  // status-code = 3DIGIT, the first 1-9 (RFC 9110 §15); NaN fails every comparison.
  if (
    !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
    (start.length > 12 && start.charCodeAt(12) !== SP)
  ) {
    return { ok: false, error: 'bad-status' };
  }
  const reason = start.slice(13);
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) return { ok: false, error: 'bad-status' };
  }
  const fields = parseFields(text, firstCr, limits.maxFields);
  if (typeof fields === 'string') return { ok: false, error: fields };
  const { rawHeaders, names } = fields;
  const status = d0 * 100 + d1 * 10 + d2;
  return { ok: true, head: { status, reason, versionMinor, rawHeaders, names } };
}

/** Writes `text` as latin1 bytes (a head is latin1 text, RFC 9110 §5.5), returning the end. */
function writeLatin1(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/**
 * Encodes a head (`startLine`, then `name: value` lines, then the empty line) straight into one
 * buffer, followed by `body` when given: no intermediate strings, and the head and the first
 * body bytes leave in one write. The same bytes as the serialize functions below.
 */
export function encodeHead(
  startLine: string,
  rawHeaders: readonly string[],
  body: Buffer | null,
): Buffer {
  let length = startLine.length + 4;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    length += (rawHeaders[i] as string).length + (rawHeaders[i + 1] as string).length + 4;
  }
  const out = Buffer.allocUnsafe(length + (body === null ? 0 : body.length));
  let at = writeLatin1(out, 0, startLine);
  out[at++] = CR;
  out[at++] = LF;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    at = writeLatin1(out, at, rawHeaders[i] as string);
    out[at++] = 58;
    out[at++] = SP;
    at = writeLatin1(out, at, rawHeaders[i + 1] as string);
    out[at++] = CR;
    out[at++] = LF;
  }
  out[at++] = CR;
  out[at++] = LF;
  if (body !== null) body.copy(out, at);
  return out;
}

/** Re-serializes a head from validated parts; the router never forwards the client's bytes. */
export function serializeRequestHead(
  method: string,
  target: string,
  rawHeaders: readonly string[],
): string {
  let out = `${method} ${target} HTTP/1.1\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    out += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return out + '\r\n';
}

export function serializeResponseHead(
  status: number,
  reason: string,
  rawHeaders: readonly string[],
): string {
  let out = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    out += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return out + '\r\n';
}
