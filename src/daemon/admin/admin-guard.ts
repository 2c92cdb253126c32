// Transport checks of the admin API, before any route runs (QUALITY.md D2, D3):
// - TCP: the Host must be the listener's own loopback host:port (DNS rebinding), and every
//   route needs the bearer token, compared in constant time.
// - Both: an Origin that is not exactly the admin origin (and `Origin: null`) is refused, so a
//   web page can never drive the API from a browser.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CutoverError } from '../../core/errors.ts';
import { formatHostPort, type HostPort } from '../host-port.ts';

export type AdminTransport =
  | { readonly kind: 'unix' }
  | { readonly kind: 'tcp'; readonly address: HostPort; readonly token: string };

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time token check: both sides are hashed to equal-length digests first. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The Host values a TCP admin listener answers to: its own address, and localhost on its port. */
export function allowedHosts(address: HostPort): ReadonlySet<string> {
  return new Set([formatHostPort(address).toLowerCase(), `localhost:${address.port}`]);
}

export function adminOrigin(address: HostPort): string {
  return `http://${formatHostPort(address).toLowerCase()}`;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Throws the CutoverError to answer with, or returns when the request may proceed. */
export function checkTransport(headers: IncomingHttpHeaders, transport: AdminTransport): void {
  const origin = single(headers, 'origin');
  if (transport.kind === 'unix') {
    if (origin !== undefined) {
      throw new CutoverError(
        'CUTOVER_ERR_ADMIN_FORBIDDEN',
        'The admin socket refuses requests carrying an Origin header (browser requests).',
      );
    }
    return;
  }
  const host = (single(headers, 'host') ?? '').toLowerCase();
  const hosts = allowedHosts(transport.address);
  if (!hosts.has(host)) {
    throw new CutoverError(
      'CUTOVER_ERR_ADMIN_FORBIDDEN',
      `The admin API answers only to Host ${[...hosts].join(' or ')}.`,
    );
  }
  if (origin !== undefined && origin.toLowerCase() !== adminOrigin(transport.address)) {
    throw new CutoverError(
      'CUTOVER_ERR_ADMIN_FORBIDDEN',
      'The admin API refuses cross-origin requests.',
    );
  }
  const authorization = single(headers, 'authorization') ?? '';
  const match = /^Bearer ([^\s]+)$/i.exec(authorization);
  if (match === null || !tokenMatches(match[1] ?? '', transport.token)) {
    throw new CutoverError(
      'CUTOVER_ERR_ADMIN_UNAUTHORIZED',
      "The admin API on TCP needs `Authorization: Bearer <token>` with the daemon's admin token.",
    );
  }
}

/** A mutation must be JSON (a form post from a browser page is refused: QUALITY.md D3). */
export function checkJsonContentType(headers: IncomingHttpHeaders): void {
  const type = (single(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new CutoverError(
      'CUTOVER_ERR_ADMIN_UNSUPPORTED_MEDIA',
      'Send the request body as JSON with `Content-Type: application/json`.',
    );
  }
}

/** Parses `If-Match: "<revision>"`; undefined when absent or `*`. */
export function parseIfMatch(headers: IncomingHttpHeaders): number | undefined {
  const value = single(headers, 'if-match')?.trim();
  if (value === undefined || value === '' || value === '*') return undefined;
  const match = /^(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))$/.exec(value);
  if (match === null) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `If-Match must be the state revision in quotes, e.g. "42" (the ETag of GET /v1/status), got ${value}.`,
    );
  }
  return Number(match[1] ?? match[2]);
}
