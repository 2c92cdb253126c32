// Comma-separated flag values (`--instances`, `--hosts`) and counts, checked before anything is
// sent to the daemon so that a typo is a usage error (exit 2) that names the flag.
import { CutoverError } from '../core/errors.ts';

function splitList(text: string, flag: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${flag} "${text}" has an empty entry: separate values with single commas`,
    );
  }
  return items;
}

/** `host:port` entries; IPv6 hosts in brackets (`[::1]:3000`). */
export function parseAddressList(text: string, flag: string): string[] {
  const addresses = splitList(text, flag);
  for (const address of addresses) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `${flag}: "${address}" is not host:port (like 127.0.0.1:3001 or [::1]:3001, port 1-65535)`,
      );
    }
  }
  if (new Set(addresses).size !== addresses.length) {
    throw new CutoverError('CUTOVER_ERR_USAGE', `${flag} lists the same address twice: "${text}"`);
  }
  return addresses;
}

/** Host names as routed by the Host header: lowercase, no port, no scheme. */
export function parseHostList(text: string, flag: string): string[] {
  const hosts = splitList(text, flag).map((host) => host.toLowerCase());
  for (const host of hosts) {
    if (
      !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(
        host,
      )
    ) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `${flag}: "${host}" is not a host name (like shop.example.com; no scheme, port or path)`,
      );
    }
  }
  return hosts;
}

export function parsePositiveInteger(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > max) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${flag} must be a whole number from 1 to ${max}, got "${text}"`,
    );
  }
  return Number(text);
}
