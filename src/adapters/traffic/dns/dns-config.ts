// The daemon's DNS switching config (`cutover daemon --dns-config FILE`): the DNS server and
// its TSIG key are infrastructure, not the app's, so they live here and not in cutover.yaml.
// Validated with zod; every problem names its field. The secret is read from its own file and
// kept only as bytes in the returned key, never in a message.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { MAX_DURATION_MS, parseDurationText } from '../../../core/duration.ts';
import { CutoverError } from '../../../core/errors.ts';
import type { Color } from '../../../core/types.ts';
import { canonicalName } from './dns-wire.ts';
import type { TsigKey } from './tsig.ts';

/** Defaults of an app's DNS settings. */
export const DEFAULT_DNS_TTL_S = 300;
export const DEFAULT_DNS_LOW_TTL_S = 5;
export const DEFAULT_DNS_MARGIN_MS = 2000;
/** RFC 2181 §8: a TTL is at most 2^31 - 1 seconds. */
const MAX_TTL_S = 2_147_483_647;

export interface HostPortAddress {
  /** An IP literal, without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface DnsAppConfig {
  readonly zone: string;
  readonly record: string;
  /** The record's TTL in normal times, seconds. */
  readonly ttl: number;
  /** The TTL published from the moment a release is placed until the old color is drained. */
  readonly lowTtl: number;
  /** Added to the TTL bound before the old color is drained (clocks, resolver slack). */
  readonly marginMs: number;
  /** Where each color's own listener binds; the record points at the live color's host. */
  readonly colors: Readonly<Record<Color, HostPortAddress>>;
}

export interface DnsConfig {
  readonly server: HostPortAddress;
  readonly key: TsigKey;
  readonly apps: Readonly<Record<string, DnsAppConfig>>;
}

/** `127.0.0.1:5353` or `[::1]:5353`, the host an IP literal. */
export function parseIpPort(text: string): HostPortAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return 'expected IP:PORT, like 127.0.0.1:5353 or [::1]:5353';
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (isIP(host) === 0)
    return `"${host}" is not an IP address (a host name cannot be published as an A/AAAA record)`;
  if (port < 1 || port > 65_535) return `port ${port} is outside 1-65535`;
  return { host, port };
}

const ipPort = z.string().transform((text, ctx) => {
  const parsed = parseIpPort(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const ttl = (what: string) =>
  z
    .number({ error: `${what} must be a whole number of seconds` })
    .int(`${what} must be a whole number of seconds`)
    .min(0, `${what} must be at least 0`)
    .max(MAX_TTL_S, `${what} must be at most ${MAX_TTL_S}`);

const duration = z.string().transform((text, ctx) => {
  const ms = parseDurationText(text);
  if (ms === undefined || ms > MAX_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 2s or 500ms, got "${text}"`,
    });
    return z.NEVER;
  }
  return ms;
});

const dnsName = z
  .string({ error: 'expected a DNS name like example.test.' })
  .regex(
    /^(?!-)[A-Za-z0-9_-]{1,63}(?:\.(?!-)[A-Za-z0-9_-]{1,63})*\.?$/,
    'expected a DNS name like example.test.',
  );

const appSchema = z
  .object({
    zone: dnsName,
    record: dnsName,
    ttl: ttl('ttl').default(DEFAULT_DNS_TTL_S),
    lowTtl: ttl('lowTtl').default(DEFAULT_DNS_LOW_TTL_S),
    margin: duration.default(DEFAULT_DNS_MARGIN_MS),
    colors: z.strictObject({ blue: ipPort, green: ipPort }),
  })
  .strict()
  .superRefine((app, ctx) => {
    const zone = canonicalName(app.zone);
    const record = canonicalName(app.record);
    if (record !== zone && !record.endsWith(`.${zone}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['record'],
        message: `"${app.record}" is not inside zone "${app.zone}"`,
      });
    }
    if (app.lowTtl > app.ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['lowTtl'],
        message: `lowTtl (${app.lowTtl}) must not exceed ttl (${app.ttl})`,
      });
    }
    const { blue, green } = app.colors;
    if (blue.host === green.host) {
      ctx.addIssue({
        code: 'custom',
        path: ['colors'],
        message:
          'blue and green need different IP addresses: the record tells them apart by address',
      });
    }
    if (blue.port !== green.port) {
      ctx.addIssue({
        code: 'custom',
        path: ['colors'],
        message: `blue and green must use the same port (clients keep the port and change only the address), got ${blue.port} and ${green.port}`,
      });
    }
  });

const configSchema = z.strictObject({
  server: ipPort,
  key: z.strictObject({
    name: dnsName,
    algorithm: z.literal('hmac-sha256', { error: 'only hmac-sha256 is supported' }),
    secretFile: z.string().min(1, 'expected the path of a file holding the base64 secret'),
  }),
  apps: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected an app name'), appSchema),
});

function invalid(file: string, problems: readonly string[]): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_CONFIG_INVALID',
    `The DNS config ${file} is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    { file, problems: [...problems] },
  );
}

/** Reads the base64 secret; a message never contains the file's content. */
function readSecret(path: string, file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw invalid(file, [
      `key.secretFile: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    ]);
  }
  // A `key` statement from tsig-keygen holds the secret in quotes; a bare base64 line also works.
  const quoted = /secret\s+"([^"]+)"/.exec(text);
  const base64 = (quoted?.[1] ?? text).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw invalid(file, [`key.secretFile: "${path}" does not hold a base64 secret`]);
  }
  const secret = Buffer.from(base64, 'base64');
  if (secret.length < 16)
    throw invalid(file, [`key.secretFile: the secret in "${path}" is shorter than 16 bytes`]);
  return secret;
}

/** Validates a parsed DNS config; relative `secretFile` paths are taken from the file's folder. */
export function parseDnsConfig(input: unknown, file: string): DnsConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw invalid(
      file,
      result.error.issues.map(
        (issue) =>
          `${issue.path.length === 0 ? '(top level)' : issue.path.join('.')}: ${issue.message}`,
      ),
    );
  }
  const { server, key, apps } = result.data;
  const secret = readSecret(resolve(dirname(file), key.secretFile), file);
  return {
    server,
    key: { name: canonicalName(key.name), algorithm: 'hmac-sha256', secret },
    apps: Object.fromEntries(
      Object.entries(apps).map(([name, app]) => [
        name,
        {
          zone: canonicalName(app.zone),
          record: canonicalName(app.record),
          ttl: app.ttl,
          lowTtl: app.lowTtl,
          marginMs: app.margin,
          colors: app.colors,
        },
      ]),
    ),
  };
}

/** Reads and validates the `--dns-config` YAML file. */
export function loadDnsConfig(path: string): DnsConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `Cannot read the DNS config ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): check --dns-config (CUTOVER_DNS_CONFIG).`,
      { file },
    );
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw invalid(
      file,
      doc.errors.map((error) => `YAML: ${error.message}`),
    );
  }
  return parseDnsConfig(doc.toJS(), file);
}
