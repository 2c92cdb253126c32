// The request guard: every rule a request must pass before the router sends a byte of it to an
// app (DESIGN.md data plane notes; RFC 9110, RFC 9112). The parser in front of it (llhttp in
// strict mode, or the raw path's head parser) already refuses most of this; the guard checks
// again, on whatever either produced, so a parser change or a lenient flag cannot open a hole.
//
// Decisions, each for a reason:
// - Host is required on HTTP/1.0 too. RFC 9112 §3.2 only obliges a 400 for HTTP/1.1, but the
//   router forwards over HTTP/1.1 (which needs Host) and routes by Host; it never guesses an app.
// - CONNECT is refused with 400: cutover is a reverse proxy (a gateway), never a tunnel
//   (RFC 9110 §9.3.6). 400 rather than 405 because 405 would oblige an Allow field (§15.5.6)
//   that depends on each app.
// - TRACE is forwarded like any method: the app is the origin that decides (RFC 9110 §9.3.8).
//   A TRACE with content is refused, since a client must not send one.
// - An h2c upgrade (and every upgrade but WebSocket) is stripped, not refused: a server may
//   ignore Upgrade (RFC 9110 §7.8) and the client carries on in HTTP/1.1. Because the app never
//   sees `Upgrade: h2c` or HTTP2-Settings, it can never switch a connection the router still
//   parses as HTTP/1.1 (h2c smuggling).
// - `OPTIONS *` is refused: it asks about the server as a whole (RFC 9110 §9.3.7), which is
//   no one app, and the upstream client cannot send an asterisk-form target (it surfaced as a
//   502 counted against the live color: a client could inflate the error rate of a flip).
// - An absolute-form target must name the same authority as Host; RFC 9112 §3.2.2 lets an
//   origin ignore Host instead, but two disagreeing hosts are how routing confusion starts.
// - Proxy-Authorization is stripped (hop-by-hop.ts says why), and so are underscore look-alikes
//   of the router's own fields (forwarded-headers.ts says why).
import type { ErrorCode } from '../core/errors.ts';
import { isSafeFieldValue, isToken, listMembers, trimOws } from './field-syntax.ts';
import { isTrustedPeer, setForwardingHeaders } from './forwarded-headers.ts';
import {
  parseAbsoluteTarget,
  parseAuthority,
  sameAuthority,
  type Authority,
} from './host-header.ts';
import {
  END_TO_END_FIELDS,
  connectionOptions,
  lowerCaseNames,
  stripHopByHop,
} from './hop-by-hop.ts';

export { sanitizeResponseHeaders, type ResponseHeaderOptions } from './hop-by-hop.ts';

export interface GuardOptions {
  /** IP addresses or CIDR ranges whose X-Forwarded-* and Forwarded fields are appended to. */
  readonly trustedProxies: readonly string[];
  /** Both listeners apply the same rules: both are plain HTTP, so the proto set is `http`. */
  readonly listener: 'public' | 'preview';
}

export type GuardResult =
  | {
      readonly ok: true;
      /** Lower-case, without port or trailing dot; an IPv6 literal keeps its brackets. */
      readonly host: string;
      /** Flat [name, value, ...] to send upstream: hop-by-hop stripped, X-Forwarded-* set. */
      readonly headers: string[];
      /** The origin-form target to send upstream (an absolute-form target is rewritten). */
      readonly path: string;
      /** 'websocket' when the request is a WebSocket handshake the router may forward. */
      readonly upgrade: 'websocket' | null;
    }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: ErrorCode;
      /** Says what was wrong and what to do; never echoes a header value. */
      readonly reason: string;
    };

export interface GuardRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  /** The lower-case field names, one per field, when the parser produced them already. */
  readonly names?: readonly string[];
}

export interface GuardPeer {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/**
 * Limits the router sets on node:http. Set `maxHeadersCount` to `maxHeaderCount + 1`: node
 * drops the headers past its limit silently, and the guard must see one too many to answer 431
 * instead of forwarding a truncated head.
 */
export const ROUTER_HTTP_LIMITS = {
  /** Slowloris: the whole head must arrive within this (node `headersTimeout`). */
  headersTimeoutMs: 10_000,
  /** Head plus body (node `requestTimeout`). */
  requestTimeoutMs: 120_000,
  /** Idle client keep-alive connections are closed after this (node `keepAliveTimeout`). */
  keepAliveTimeoutMs: 5_000,
  /** Request line plus header lines (node `maxHeaderSize`). */
  maxHeaderBytes: 16_384,
  maxHeaderCount: 100,
} as const satisfies Record<string, number>;

const MAX_CONTENT_LENGTH_DIGITS = 15;

/** The options of a request without a Connection field: most requests, no Set built for them. */
const NO_CONNECTION_OPTIONS: ReadonlySet<string> = new Set();

type Failure = Extract<GuardResult, { ok: false }>;

function badRequest(reason: string): Failure {
  return { ok: false, status: 400, code: 'CUTOVER_ERR_HTTP_BAD_REQUEST', reason };
}

function tooLarge(reason: string): Failure {
  return { ok: false, status: 431, code: 'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE', reason };
}

/** A header name safe to quote in a reason: printable ASCII only, at most 40 characters. */
function quoteName(name: string): string {
  const printable = name.replace(/[^\x21-\x7e]/g, '?');
  return JSON.stringify(printable.length > 40 ? `${printable.slice(0, 40)}...` : printable);
}

function isSafeTarget(url: string): boolean {
  for (let i = 0; i < url.length; i++) {
    const code = url.charCodeAt(i);
    // No controls, space, DEL, or fragment (RFC 9112 §3.2: a request-target has no fragment).
    if (code <= 0x20 || code === 0x7f || code === 0x23 || code > 0xff) return false;
  }
  return url.length > 0;
}

interface HeadFacts {
  readonly hosts: string[];
  readonly contentLengths: string[];
  readonly transferEncodings: string[];
  readonly upgrades: string[];
}

function collectHead(rawHeaders: readonly string[], names: readonly string[]): HeadFacts | Failure {
  const facts: HeadFacts = { hosts: [], contentLengths: [], transferEncodings: [], upgrades: [] };
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    if (!isToken(name)) {
      return badRequest(
        `Header name ${quoteName(name)} is not a token (RFC 9110 §5.1): no spaces, colons or control characters.`,
      );
    }
    if (!isSafeFieldValue(value)) {
      return badRequest(
        `Header ${quoteName(name)} has a control character (NUL, CR, LF, ...) in its value (RFC 9110 §5.5); remove it.`,
      );
    }
    switch (names[i >> 1]) {
      case 'host':
        facts.hosts.push(value);
        break;
      case 'content-length':
        facts.contentLengths.push(value);
        break;
      case 'transfer-encoding':
        facts.transferEncodings.push(value);
        break;
      case 'upgrade':
        facts.upgrades.push(value);
        break;
    }
  }
  return facts;
}

/** Message framing (RFC 9112 §6.1, §6.3): one unambiguous body length or none. */
function checkFraming(facts: HeadFacts, httpVersion: string, method: string): Failure | null {
  if (facts.contentLengths.length > 1) {
    return badRequest('More than one Content-Length header (RFC 9112 §6.3); send exactly one.');
  }
  const contentLength = facts.contentLengths[0];
  if (
    contentLength !== undefined &&
    (!/^[0-9]+$/.test(contentLength) || contentLength.length > MAX_CONTENT_LENGTH_DIGITS)
  ) {
    return badRequest(
      'Content-Length must be one decimal number (RFC 9110 §8.6); lists, signs and spaces are refused.',
    );
  }
  if (facts.transferEncodings.length === 0) {
    if (method === 'TRACE' && contentLength !== undefined && Number(contentLength) > 0) {
      return badRequest('A TRACE request must not have content (RFC 9110 §9.3.8).');
    }
    return null;
  }
  if (httpVersion !== '1.1') {
    return badRequest(
      'Transfer-Encoding on an HTTP/1.0 request is faulty framing (RFC 9112 §6.1); use Content-Length.',
    );
  }
  if (contentLength !== undefined) {
    return badRequest(
      'Content-Length and Transfer-Encoding together are ambiguous framing (RFC 9112 §6.1); send one.',
    );
  }
  const codings = facts.transferEncodings.flatMap((value) => value.split(',').map(trimOws));
  if (codings.length !== 1 || codings[0]?.toLowerCase() !== 'chunked') {
    return badRequest(
      'Transfer-Encoding must be exactly "chunked" (RFC 9112 §6.1, §7); other codings are refused.',
    );
  }
  if (method === 'TRACE') {
    return badRequest('A TRACE request must not have content (RFC 9110 §9.3.8).');
  }
  return null;
}

/** The Host field: exactly one, valid (RFC 9112 §3.2, RFC 9110 §7.2). */
function checkHost(facts: HeadFacts): Authority | Failure {
  if (facts.hosts.length === 0) {
    return badRequest(
      'The request has no Host header (RFC 9112 §3.2); send the site name in Host.',
    );
  }
  if (facts.hosts.length > 1) {
    return badRequest(
      'The request has more than one Host header (RFC 9112 §3.2); send exactly one.',
    );
  }
  const authority = parseAuthority(facts.hosts[0] ?? '');
  if (authority === null) {
    return badRequest(
      'The Host header is not a valid host name, IPv4 or [IPv6] address with an optional port (RFC 9110 §7.2).',
    );
  }
  return authority;
}

/** The request-target (RFC 9112 §3.2): origin-form, absolute-form, or `*` for OPTIONS. */
function checkTarget(method: string, url: string, host: Authority): string | Failure {
  if (!isSafeTarget(url)) {
    return badRequest(
      'The request-target has a space, control character or fragment (RFC 9112 §3.2).',
    );
  }
  if (url.startsWith('/')) return url;
  if (url === '*') {
    return badRequest(
      method === 'OPTIONS'
        ? 'OPTIONS * asks about the whole server, and cutover routes to several apps; ask an app with OPTIONS /path instead (RFC 9110 §9.3.7).'
        : 'The asterisk-form target "*" is only for OPTIONS (RFC 9112 §3.2.4).',
    );
  }
  const absolute = parseAbsoluteTarget(url);
  if (absolute === null) {
    return badRequest(
      'The request-target must be a path starting with "/" or an absolute http(s) URL (RFC 9112 §3.2).',
    );
  }
  const defaultPort = absolute.scheme === 'https' ? 443 : 80;
  if (!sameAuthority(absolute.authority, host, defaultPort)) {
    return badRequest(
      'The absolute-form target names a different host than the Host header (RFC 9112 §3.2.2); make them agree.',
    );
  }
  return absolute.path;
}

/** A WebSocket opening handshake (RFC 6455 §4.1): GET, HTTP/1.1, Connection: upgrade. */
function isWebSocketUpgrade(
  method: string,
  httpVersion: string,
  options: ReadonlySet<string>,
  upgrades: readonly string[],
): boolean {
  if (method !== 'GET' || httpVersion !== '1.1' || !options.has('upgrade')) return false;
  return upgrades.some((value) => listMembers(value).includes('websocket'));
}

function headBytes(req: GuardRequest): number {
  let bytes = req.method.length + req.url.length + 12;
  for (const part of req.rawHeaders) bytes += part.length + 2;
  return bytes;
}

/**
 * Checks one request head and builds the header list to send upstream. Never throws on any
 * client input (a bad trustedProxies entry throws CUTOVER_ERR_CONFIG_INVALID; check it at start
 * with createTrustedProxyMatcher). Every failure must be answered with `Connection: close`:
 * after a framing error the rest of the connection cannot be trusted (RFC 9112 §6.3).
 */
export function guardRequest(
  req: GuardRequest,
  peer: GuardPeer,
  options: GuardOptions,
): GuardResult {
  if (req.rawHeaders.length / 2 > ROUTER_HTTP_LIMITS.maxHeaderCount) {
    return tooLarge(
      `The request has more than ${ROUTER_HTTP_LIMITS.maxHeaderCount} headers (RFC 6585 §5); send fewer.`,
    );
  }
  if (headBytes(req) > ROUTER_HTTP_LIMITS.maxHeaderBytes) {
    return tooLarge(
      `The request head is larger than ${ROUTER_HTTP_LIMITS.maxHeaderBytes} bytes (RFC 6585 §5); send a smaller one.`,
    );
  }
  if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') {
    return badRequest('Only HTTP/1.1 and HTTP/1.0 are served on this listener (RFC 9112 §2.3).');
  }
  if (!isToken(req.method)) {
    return badRequest('The request method is not a token (RFC 9110 §9.1).');
  }
  if (req.method === 'CONNECT') {
    return badRequest(
      'CONNECT is not supported: cutover is a reverse proxy, not a tunnel (RFC 9110 §9.3.6).',
    );
  }
  const names = req.names ?? lowerCaseNames(req.rawHeaders);
  const facts = collectHead(req.rawHeaders, names);
  if ('ok' in facts) return facts;
  const framing = checkFraming(facts, req.httpVersion, req.method);
  if (framing !== null) return framing;
  const host = checkHost(facts);
  if ('ok' in host) return host;
  const path = checkTarget(req.method, req.url, host);
  if (typeof path !== 'string') return path;
  const named = names.includes('connection')
    ? connectionOptions(req.rawHeaders, names)
    : NO_CONNECTION_OPTIONS;
  if (named.size > 0) {
    for (const field of END_TO_END_FIELDS) {
      if (named.has(field)) {
        return badRequest(
          `Connection names "${field}", which is end-to-end and never a connection option (RFC 9110 §7.6.1).`,
        );
      }
    }
  }
  const upgrade = isWebSocketUpgrade(req.method, req.httpVersion, named, facts.upgrades)
    ? 'websocket'
    : null;
  const headers = setForwardingHeaders(stripHopByHop(req.rawHeaders, names, named, true), {
    peerAddress: peer.remoteAddress,
    host: facts.hosts[0] ?? '',
    trusted: isTrustedPeer(peer.remoteAddress, options.trustedProxies),
  });
  if (upgrade === 'websocket') headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  return { ok: true, host: host.name, headers, path, upgrade };
}
