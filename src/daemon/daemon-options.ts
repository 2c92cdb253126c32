// The flags of `cutover daemon`, with their environment fallbacks. Pure: the token file is read
// through an injected function so the parsing is testable without files.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CutoverError } from '../core/errors.ts';
import { isLoopbackHost, parseHostPort, type HostPort } from './host-port.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_PUBLIC = '127.0.0.1:8080';
export const DEFAULT_PREVIEW = '127.0.0.1:8081';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
/** A shorter token is too easy to guess for a credential guarding deployments. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
const MAX_WORKERS = 256;

export interface DaemonOptions {
  readonly dataDir: string;
  readonly public: HostPort;
  readonly preview: HostPort;
  /** Loopback TCP admin listener; null means the Unix socket only (the default). */
  readonly adminTcp: HostPort | null;
  /** The bearer token for the TCP admin listener; never logged. */
  readonly adminToken: string | null;
  /** Router worker threads; every core by default. */
  readonly workers: number;
  readonly logLevel: LogLevel;
  /** Where JSON logs go; null means stdout. */
  readonly logFile: string | null;
  readonly shutdownTimeoutMs: number;
  /** The DNS switching config file (issue 5), absolute; null: no app is switched by DNS. */
  readonly dnsConfig?: string | null;
}

export const DAEMON_USAGE = `Usage: cutover daemon [options]

Runs the router, the controller and the admin API in the foreground.

Options:
  --data-dir DIR            state, admin socket and logs (env CUTOVER_DATA_DIR, default ./.cutover)
  --public HOST:PORT        public listener (env CUTOVER_PUBLIC, default ${DEFAULT_PUBLIC})
  --preview HOST:PORT       preview listener (env CUTOVER_PREVIEW, default ${DEFAULT_PREVIEW})
  --admin-tcp HOST:PORT     also serve the admin API on loopback TCP (env CUTOVER_ADMIN_TCP);
                            needs --admin-token-file or CUTOVER_ADMIN_TOKEN
  --admin-token-file FILE   file holding the admin bearer token (at least ${MIN_ADMIN_TOKEN_LENGTH} characters)
  --workers N               router worker threads (env CUTOVER_WORKERS, default: one per core)
  --log-level LEVEL         ${LOG_LEVELS.join('|')} (env CUTOVER_LOG_LEVEL, default info)
  --log-file FILE           JSON logs to FILE instead of stdout (env CUTOVER_LOG_FILE;
                            "daemon.log" alone means DIR/daemon.log)
  --shutdown-timeout MS     hard deadline for a graceful stop (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS})
  --dns-config FILE         switch the apps it lists by DNS records (RFC 2136 updates with TSIG)
                            instead of the shared router (env CUTOVER_DNS_CONFIG; docs/config.md)
  -h, --help                show this help
`;

export type ParsedDaemonCli =
  { readonly help: true } | { readonly help: false; readonly options: DaemonOptions };

function usage(message: string): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_USAGE',
    `${message} Run \`cutover daemon --help\` for usage.`,
  );
}

function parseInteger(value: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw usage(`${what} must be a whole number, got "${value}".`);
  const n = Number(value);
  if (n < min || n > max) throw usage(`${what} must be between ${min} and ${max}, got ${n}.`);
  return n;
}

function parseToken(token: string, source: string): string {
  const trimmed = token.trim();
  if (trimmed.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw usage(
      `The admin token from ${source} is ${trimmed.length === 0 ? 'empty' : 'too short'}: ` +
        `use at least ${MIN_ADMIN_TOKEN_LENGTH} random characters (e.g. \`openssl rand -hex 32\`).`,
    );
  }
  if (/\s/.test(trimmed))
    throw usage(`The admin token from ${source} must not contain whitespace.`);
  return trimmed;
}

/** Parses `cutover daemon` flags; throws CUTOVER_ERR_USAGE naming the bad flag. */
export function parseDaemonOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readTokenFile: (path: string) => string,
): ParsedDaemonCli {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        public: { type: 'string' },
        preview: { type: 'string' },
        'admin-tcp': { type: 'string' },
        'admin-token-file': { type: 'string' },
        workers: { type: 'string' },
        'log-level': { type: 'string' },
        'log-file': { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'dns-config': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw usage(`${(error as Error).message}.`);
  }
  if (values.help === true) return { help: true };

  const dataDir = resolve(values['data-dir'] ?? env.CUTOVER_DATA_DIR ?? './.cutover');
  const publicAddress = parseHostPort(
    values.public ?? env.CUTOVER_PUBLIC ?? DEFAULT_PUBLIC,
    '--public (CUTOVER_PUBLIC)',
  );
  const previewAddress = parseHostPort(
    values.preview ?? env.CUTOVER_PREVIEW ?? DEFAULT_PREVIEW,
    '--preview (CUTOVER_PREVIEW)',
  );

  const adminTcpValue = values['admin-tcp'] ?? env.CUTOVER_ADMIN_TCP;
  let adminTcp: HostPort | null = null;
  let adminToken: string | null = null;
  if (adminTcpValue !== undefined && adminTcpValue !== '') {
    adminTcp = parseHostPort(adminTcpValue, '--admin-tcp (CUTOVER_ADMIN_TCP)');
    if (!isLoopbackHost(adminTcp.host)) {
      throw usage(
        `--admin-tcp must bind a loopback address (127.0.0.1, ::1 or localhost), got "${adminTcp.host}": ` +
          'the admin API controls deployments and is never exposed on a network interface.',
      );
    }
    const tokenFile = values['admin-token-file'];
    if (tokenFile !== undefined) {
      let text: string;
      try {
        text = readTokenFile(tokenFile);
      } catch (error) {
        throw usage(`Cannot read --admin-token-file "${tokenFile}": ${(error as Error).message}.`);
      }
      adminToken = parseToken(text, `--admin-token-file "${tokenFile}"`);
    } else if (env.CUTOVER_ADMIN_TOKEN !== undefined) {
      adminToken = parseToken(env.CUTOVER_ADMIN_TOKEN, 'CUTOVER_ADMIN_TOKEN');
    } else {
      throw usage(
        '--admin-tcp needs a bearer token: pass --admin-token-file FILE or set CUTOVER_ADMIN_TOKEN (there is no default token).',
      );
    }
  } else if (values['admin-token-file'] !== undefined) {
    throw usage('--admin-token-file is only used with --admin-tcp HOST:PORT.');
  }

  const workersValue = values.workers ?? env.CUTOVER_WORKERS;
  const workers =
    workersValue === undefined || workersValue === ''
      ? availableParallelism()
      : parseInteger(workersValue, '--workers (CUTOVER_WORKERS)', 1, MAX_WORKERS);

  const logLevelValue = values['log-level'] ?? env.CUTOVER_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelValue)) {
    throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelValue}".`);
  }

  const logFileValue = values['log-file'] ?? env.CUTOVER_LOG_FILE;
  const logFile =
    logFileValue === undefined || logFileValue === ''
      ? null
      : logFileValue === 'daemon.log'
        ? resolve(dataDir, 'daemon.log')
        : resolve(logFileValue);

  const shutdownValue = values['shutdown-timeout'];
  const shutdownTimeoutMs =
    shutdownValue === undefined
      ? DEFAULT_SHUTDOWN_TIMEOUT_MS
      : parseInteger(shutdownValue, '--shutdown-timeout', 100, 600_000);

  const dnsConfigValue = values['dns-config'] ?? env.CUTOVER_DNS_CONFIG;
  if (
    dnsConfigValue !== undefined &&
    dnsConfigValue.trim() === '' &&
    values['dns-config'] !== undefined
  ) {
    throw usage('--dns-config needs the path of a DNS config file.');
  }
  const dnsConfig =
    dnsConfigValue === undefined || dnsConfigValue.trim() === '' ? null : resolve(dnsConfigValue);

  return {
    help: false,
    options: {
      dataDir,
      public: publicAddress,
      preview: previewAddress,
      adminTcp,
      adminToken,
      workers,
      logLevel: logLevelValue as LogLevel,
      logFile,
      shutdownTimeoutMs,
      dnsConfig,
    },
  };
}
