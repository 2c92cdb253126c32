// Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so a proxy must never
// forward them, in either direction, 1xx responses included.
import { isSafeFieldValue, isToken, listMembers } from './field-syntax.ts';

/**
 * Removed from every request and response the router forwards, plus every field a Connection
 * header names. Proxy-Authorization and Proxy-Authenticate are in the list on purpose: cutover
 * is the proxy they address (RFC 9110 §11.7), it never asks for proxy credentials, and passing
 * a client's proxy credentials on to an app would leak them. HTTP2-Settings only exists for the
 * h2c upgrade (RFC 7540 §3.2.1), which the router refuses.
 */
export const HOP_BY_HOP_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * Fields that carry the message's own framing or target. A Connection option naming one of
 * them is invalid (RFC 9110 §7.6.1: never a connection option for a field meant for all
 * recipients) and would let a client strip its own Content-Length in front of the app.
 */
export const END_TO_END_FIELDS: ReadonlySet<string> = new Set(['host', 'content-length']);

/** The names of a flat raw header list, lower-cased once and shared by every pass over it. */
export function lowerCaseNames(rawHeaders: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    names.push((rawHeaders[i] ?? '').toLowerCase());
  return names;
}

/** The lower-case field names listed by every Connection header of a flat raw header list. */
export function connectionOptions(
  rawHeaders: readonly string[],
  names: readonly string[] = lowerCaseNames(rawHeaders),
): Set<string> {
  const options = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (names[i >> 1] !== 'connection') continue;
    for (const member of listMembers(rawHeaders[i + 1] ?? '')) options.add(member);
  }
  return options;
}

/**
 * Copies a flat raw header list without hop-by-hop fields, without the fields named in
 * Connection (except END_TO_END_FIELDS, which stay), and without any field whose name is not
 * a token or whose value holds a control character. Never throws. `validated` skips the
 * character checks for a list the caller has already checked (the request guard).
 */
export function stripHopByHop(
  rawHeaders: readonly string[],
  names: readonly string[] = lowerCaseNames(rawHeaders),
  named: ReadonlySet<string> = connectionOptions(rawHeaders, names),
  validated = false,
): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    const lower = names[i >> 1] ?? '';
    if (HOP_BY_HOP_FIELDS.has(lower)) continue;
    if (named.has(lower) && !END_TO_END_FIELDS.has(lower)) continue;
    if (!validated && (!isToken(name) || !isSafeFieldValue(value))) continue;
    kept.push(name, value);
  }
  return kept;
}

export interface ResponseHeaderOptions {
  /**
   * True only for a 101 answering a WebSocket upgrade the router forwarded: Upgrade is kept
   * and `Connection: Upgrade` is sent, as RFC 6455 §4.2.2 requires of the handshake.
   */
  readonly upgrade?: boolean;
}

/** The headers of an upstream response (1xx included) as the router may send them to the client. */
export function sanitizeResponseHeaders(
  rawHeaders: readonly string[],
  options: ResponseHeaderOptions = {},
): string[] {
  const kept = stripHopByHop(rawHeaders);
  if (options.upgrade !== true) return kept;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const value = rawHeaders[i + 1] ?? '';
    if (rawHeaders[i]?.toLowerCase() === 'upgrade' && isSafeFieldValue(value)) {
      kept.push('Upgrade', value);
    }
  }
  kept.push('Connection', 'Upgrade');
  return kept;
}
