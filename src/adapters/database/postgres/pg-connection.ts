// Opening a connection to the app's PostgreSQL, with failures as CUTOVER_ERR_DATABASE_UNREACHABLE
// and URLs in messages without their password.
import pg from 'pg';
import { CutoverError } from '../../../core/errors.ts';

const CONNECT_TIMEOUT_MS = 10_000;

/** `url` with the password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

/** `url` pointing at database `name` instead (same host, user and options). */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'cutover',
  });
  // An idle connection that the server drops must not crash the daemon with an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new CutoverError(
      'CUTOVER_ERR_DATABASE_UNREACHABLE',
      `could not connect to ${redactUrl(url)}: ${(error as Error).message}`,
      { url: redactUrl(url) },
    );
  }
  return client;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The SQLSTATE of a server error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
