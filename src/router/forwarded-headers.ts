// X-Forwarded-*, X-Real-IP and Forwarded (RFC 7239): who the client was, as the app sees it.
// A client can write these fields itself, so they are only believed from a trusted proxy.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { CutoverError } from '../core/errors.ts';
import { isToken, trimOws } from './field-syntax.ts';
import { END_TO_END_FIELDS, HOP_BY_HOP_FIELDS } from './hop-by-hop.ts';

/** Fields the router owns. From an untrusted peer every `X-Forwarded-*` is dropped, not just these. */
const X_FORWARDED_PREFIX = 'x-forwarded-';
/**
 * The mark of a mirrored copy (mirror-sender.ts). A client that sent it would make a live
 * request look like a copy to an app that skips side effects for copies: untrusted peers lose it.
 */
const MIRROR_FIELD = 'x-cutover-mirror';

const matchers = new WeakMap<readonly string[], BlockList>();

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack listener) is the IPv4 address 10.0.0.1. */
export function normalizePeerAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
  return lower;
}

/**
 * Builds the matcher for `trustedProxies`: IP addresses and CIDR ranges (`10.0.0.0/8`,
 * `fd00::/8`). Throws CUTOVER_ERR_CONFIG_INVALID naming the bad entry; the router calls it
 * once at start so a typo is caught before the first request.
 */
export function createTrustedProxyMatcher(trustedProxies: readonly string[]): BlockList {
  const cached = matchers.get(trustedProxies);
  if (cached !== undefined) return cached;
  const list = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
    const bits = prefix === undefined ? null : Number(prefix);
    const maxBits = family === 'ipv4' ? 32 : 128;
    if (
      family === null ||
      extra !== undefined ||
      (bits !== null && (!/^[0-9]{1,3}$/.test(prefix ?? '') || bits > maxBits))
    ) {
      throw new CutoverError(
        'CUTOVER_ERR_CONFIG_INVALID',
        `trustedProxies: "${entry}" is not an IP address or CIDR range; write e.g. 10.0.0.5 or 10.0.0.0/8.`,
        { entry },
      );
    }
    if (bits === null) list.addAddress(address, family);
    else list.addSubnet(address, bits, family);
  }
  matchers.set(trustedProxies, list);
  return list;
}

/** True when the peer is one of the trusted proxies, whose forwarding fields are appended to. */
export function isTrustedPeer(address: string, trustedProxies: readonly string[]): boolean {
  if (trustedProxies.length === 0) return false;
  const normalized = normalizePeerAddress(address);
  const family = isIPv4(normalized) ? 'ipv4' : isIPv6(normalized) ? 'ipv6' : null;
  if (family === null) return false;
  return createTrustedProxyMatcher(trustedProxies).check(normalized, family);
}

/** A Forwarded parameter value: a token, or a quoted-string (RFC 7239 §4, RFC 9110 §5.6.4). */
function forwardedValue(value: string): string {
  return isToken(value) ? value : `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/**
 * `for=` of RFC 7239 §6: an IPv6 address goes in brackets, and so in quotes. The address is a
 * socket's normalized peer address, so a colon means IPv6 (cheaper than isIPv6 per request).
 */
function forwardedNode(address: string): string {
  return forwardedValue(address.includes(':') ? `[${address}]` : address);
}

/** Fields whose look-alikes (`X_Forwarded_For`, `Content_Length`) are never forwarded. */
const PROTECTED_FIELDS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_FIELDS,
  ...END_TO_END_FIELDS,
  'x-real-ip',
  'forwarded',
  MIRROR_FIELD,
]);

/**
 * True when a name with `_` reads as a protected field once `_` becomes `-`. CGI-style app
 * servers (PHP-FPM, WSGI, Rack) fold both to `HTTP_X_FORWARDED_FOR`, so a client-sent
 * `X_Forwarded_For` would reach the app as the trusted field; nginx drops these names by default
 * for the same reason (`underscores_in_headers off`). Dropped from every peer: no real proxy
 * spells its fields with underscores.
 */
function isLookalike(lower: string): boolean {
  const dashed = lower.replaceAll('_', '-');
  return dashed.startsWith(X_FORWARDED_PREFIX) || PROTECTED_FIELDS.has(dashed);
}

export interface ForwardingContext {
  readonly peerAddress: string;
  /** The Host field exactly as the client sent it (with its port); empty when absent. */
  readonly host: string;
  readonly trusted: boolean;
}

/**
 * Returns `headers` with the forwarding fields set: replaced when the peer is untrusted (every
 * client-sent `X-Forwarded-*`, `X-Real-IP` and `Forwarded` is dropped), appended to when it is
 * a trusted proxy. Both listeners are plain HTTP, so the router's own proto is always `http`.
 */
export function setForwardingHeaders(
  headers: readonly string[],
  context: ForwardingContext,
): string[] {
  const peer = normalizePeerAddress(context.peerAddress);
  const out: string[] = [];
  const prior = {
    for: [] as string[],
    proto: [] as string[],
    host: [] as string[],
    realIp: [] as string[],
    forwarded: [] as string[],
  };
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? '';
    const value = headers[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (lower.includes('_') && isLookalike(lower)) continue;
    if (lower === 'x-forwarded-for') prior.for.push(value);
    else if (lower === 'x-forwarded-proto') prior.proto.push(value);
    else if (lower === 'x-forwarded-host') prior.host.push(value);
    else if (lower === 'x-real-ip') prior.realIp.push(value);
    else if (lower === 'forwarded') prior.forwarded.push(value);
    else if (lower.startsWith(X_FORWARDED_PREFIX) && !context.trusted) continue;
    else if (lower === MIRROR_FIELD && !context.trusted) continue;
    else out.push(name, value);
  }
  // Empty members carry nothing; a trusted proxy that sent only those sent no value.
  const keep = (values: string[]): string | null => {
    if (!context.trusted) return null;
    const members = values.map(trimOws).filter((value) => value.length > 0);
    return members.length > 0 ? members.join(', ') : null;
  };
  const element = [`for=${forwardedNode(peer)}`, 'proto=http'];
  if (context.host.length > 0) element.push(`host=${forwardedValue(context.host)}`);
  const forwarded = element.join(';');
  const priorFor = keep(prior.for);
  const priorForwarded = keep(prior.forwarded);
  out.push('X-Forwarded-For', priorFor === null ? peer : `${priorFor}, ${peer}`);
  out.push('X-Forwarded-Proto', keep(prior.proto) ?? 'http');
  const forwardedHost = keep(prior.host) ?? context.host;
  if (forwardedHost.length > 0) out.push('X-Forwarded-Host', forwardedHost);
  out.push('X-Real-IP', keep(prior.realIp) ?? peer);
  out.push('Forwarded', priorForwarded === null ? forwarded : `${priorForwarded}, ${forwarded}`);
  return out;
}
