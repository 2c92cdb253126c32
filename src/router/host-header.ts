// Parsing of the Host field and of an authority (RFC 9110 §7.2, RFC 3986 §3.2.2, RFC 9112 §3.2).
import { isIPv6 } from 'node:net';

/** A validated authority: `name` is lower-case, without port and trailing dot; IPv6 in brackets. */
export interface Authority {
  readonly name: string;
  /** The port number, or null when none was given (`example.com` and `example.com:`). */
  readonly port: number | null;
}

const MAX_HOST_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

function isNameChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z (the name is lower-cased first)
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x5f // _
  );
}

/**
 * A reg-name or IPv4 address, stricter than RFC 3986's reg-name on purpose: DNS labels of
 * letters, digits, `-` and `_` only. Sub-delims, percent-encoding and userinfo never name a
 * real site, and each is a known way to make a proxy and an app disagree on the host.
 */
function parseName(raw: string): string | null {
  let name = raw.toLowerCase();
  // A trailing dot names the same host (an absolute DNS name); routing ignores it.
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > MAX_HOST_NAME_LENGTH) return null;
  let labelLength = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === 0x2e) {
      if (labelLength === 0) return null;
      labelLength = 0;
      continue;
    }
    if (!isNameChar(code)) return null;
    labelLength++;
    if (labelLength > MAX_LABEL_LENGTH) return null;
  }
  return labelLength === 0 ? null : name;
}

/** port = *DIGIT (RFC 3986 §3.2.3); an empty port means the default (RFC 9110 §4.2.3). */
function parsePort(raw: string): number | null | undefined {
  if (raw.length === 0) return null;
  if (raw.length > 5 || !/^[0-9]+$/.test(raw)) return undefined;
  const port = Number(raw);
  return port <= 65535 ? port : undefined;
}

/**
 * Parses `uri-host [ ":" port ]`. Returns null for anything invalid: empty, userinfo (`@`),
 * spaces, an unbracketed IPv6 address, an IPvFuture or zone id, a port out of range.
 */
export function parseAuthority(value: string): Authority | null {
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return null;
    const literal = value.slice(1, close);
    // net.isIPv6 also accepts a zone id (`fe80::1%eth0`); RFC 9110 has no syntax for it.
    if (literal.includes('%') || !isIPv6(literal)) return null;
    const rest = value.slice(close + 1);
    let port: number | null | undefined = null;
    if (rest.length > 0) {
      if (!rest.startsWith(':')) return null;
      port = parsePort(rest.slice(1));
    }
    if (port === undefined) return null;
    return { name: `[${literal.toLowerCase()}]`, port };
  }
  const colon = value.indexOf(':');
  const name = parseName(colon < 0 ? value : value.slice(0, colon));
  if (name === null) return null;
  const port = colon < 0 ? null : parsePort(value.slice(colon + 1));
  if (port === undefined) return null;
  return { name, port };
}

/** The origin-form target and authority of an absolute-form request-target (RFC 9112 §3.2.2). */
export interface AbsoluteTarget {
  readonly scheme: 'http' | 'https';
  readonly authority: Authority;
  /** path-abempty plus query, `/` when the path is empty (RFC 9112 §3.2.1). */
  readonly path: string;
}

const ABSOLUTE_FORM = /^(https?):\/\/([^/?#]*)(.*)$/i;

/** Parses `http://authority/path?query`; null when it is not one or the authority is invalid. */
export function parseAbsoluteTarget(target: string): AbsoluteTarget | null {
  const match = ABSOLUTE_FORM.exec(target);
  if (match === null) return null;
  const [, scheme = '', rawAuthority = '', rest = ''] = match;
  const authority = parseAuthority(rawAuthority);
  if (authority === null) return null;
  if (rest.length > 0 && !rest.startsWith('/') && !rest.startsWith('?')) return null;
  const path = rest.length === 0 ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  return { scheme: scheme.toLowerCase() === 'https' ? 'https' : 'http', authority, path };
}

/** True when two authorities name the same origin, the missing port being the scheme's default. */
export function sameAuthority(a: Authority, b: Authority, defaultPort: number): boolean {
  return a.name === b.name && (a.port ?? defaultPort) === (b.port ?? defaultPort);
}
