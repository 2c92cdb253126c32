// Character rules of HTTP fields (RFC 9110 §5.1, §5.5, §5.6.2). The router checks every header
// itself even though llhttp runs in strict mode: defence in depth against a parser change.

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//         / DIGIT / ALPHA (RFC 9110 §5.6.2).
const TCHAR = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~") TCHAR[char.charCodeAt(0)] = 1;
for (let code = 0x30; code <= 0x39; code++) TCHAR[code] = 1;
for (let code = 0x41; code <= 0x5a; code++) TCHAR[code] = 1;
for (let code = 0x61; code <= 0x7a; code++) TCHAR[code] = 1;

/** True when `text` is a non-empty token: a valid field name or method (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || TCHAR[code] !== 1) return false;
  }
  return true;
}

/**
 * True when `value` is a safe field value: VCHAR, obs-text, SP and HTAB only (RFC 9110 §5.5).
 * NUL, CR, LF and the other controls are refused: §5.5 lets a recipient reject them, and a
 * proxy that passed them on would let a client split or smuggle a header downstream.
 */
export function isSafeFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x09) continue;
    if (code < 0x20 || code === 0x7f || code > 0xff) return false;
  }
  return true;
}

/**
 * Trims optional whitespace, SP and HTAB only (RFC 9110 §5.6.3). String.prototype.trim would
 * also drop U+00A0 (an obs-text byte on the wire), turning `chunked\xA0` into `chunked`.
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09))
    start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09))
    end--;
  return text.slice(start, end);
}

/** Splits a list-based field value (RFC 9110 §5.6.1) into lower-case, trimmed, non-empty members. */
export function listMembers(value: string): string[] {
  const members: string[] = [];
  for (const part of value.split(',')) {
    const member = trimOws(part).toLowerCase();
    if (member.length > 0) members.push(member);
  }
  return members;
}
