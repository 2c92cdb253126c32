// Parses the `HOST:PORT` form of the listener flags (IPv6 hosts in brackets: `[::1]:8080`).
import { isIP } from 'node:net';
import { CutoverError } from '../core/errors.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const MAX_PORT = 65_535;

/** Parses `HOST:PORT`; `what` names the flag in the error so the user knows what to fix. */
export function parseHostPort(value: string, what: string): HostPort {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  const plain = /^([^:[\]]+):(\d+)$/.exec(value);
  const match = bracketed ?? plain;
  if (match === null) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${what} must be HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "${value}".`,
    );
  }
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port > MAX_PORT) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${what} has an invalid port "${match[2]}": use 0-${MAX_PORT} (0 picks a free port).`,
    );
  }
  if (bracketed !== null && isIP(host) !== 6) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${what} has "[${host}]", which is not an IPv6 address.`,
    );
  }
  if (!/^[A-Za-z0-9.-]+$/.test(host) && isIP(host) === 0) {
    throw new CutoverError('CUTOVER_ERR_USAGE', `${what} has an invalid host "${host}".`);
  }
  return { host, port };
}

/** True for the loopback addresses the admin TCP listener may bind. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Formats an address for URLs and Host headers (brackets around IPv6). */
export function formatHostPort(address: HostPort): string {
  return isIP(address.host) === 6
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
