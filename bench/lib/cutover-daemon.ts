// The real cutover daemon as a benchmark peer: `node bin/cutover.js daemon` as a child process
// with its own data dir and port-0 listeners; the bound ports come from <data-dir>/daemon.json
// and the admin API is reached on <data-dir>/admin.sock, as the CLI reaches it.
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild, type ChildHandle } from './child.ts';

const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;

export interface AdminResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface CutoverDaemon {
  readonly dataDir: string;
  readonly child: ChildHandle;
  readonly publicPort: number;
  readonly previewPort: number;
  readonly publicUrl: string;
  /** One admin API call over the Unix socket; JSON in, JSON out. */
  admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminResponse>;
  /** Like `admin`, but throws unless the status is 2xx. */
  adminOk(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
}

interface ListenerAddress {
  readonly host: string;
  readonly port: number;
}

function portOf(value: unknown, what: string): number {
  if (typeof value === 'object' && value !== null && 'port' in value) {
    const port = (value as ListenerAddress).port;
    if (typeof port === 'number' && port > 0) return port;
  }
  throw new Error(`daemon.json: no bound ${what} port in ${JSON.stringify(value)}`);
}

export function adminRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: {
          host: 'localhost',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': payload.length }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON (e.g. /metrics): keep the text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface StartDaemonOptions {
  readonly dir: string;
  readonly name?: string;
  /** Router workers (`--workers`); omitted uses the daemon's default. */
  readonly workers?: number;
  readonly extraArgs?: readonly string[];
}

export async function startCutoverDaemon(options: StartDaemonOptions): Promise<CutoverDaemon> {
  const dataDir = join(options.dir, options.name ?? 'cutover');
  const args = [
    CUTOVER_BIN,
    'daemon',
    '--data-dir',
    dataDir,
    '--public',
    '127.0.0.1:0',
    '--preview',
    '127.0.0.1:0',
    '--log-level',
    'warn',
    ...(options.workers === undefined ? [] : ['--workers', String(options.workers)]),
    ...(options.extraArgs ?? []),
  ];
  const child = startChild(options.name ?? 'cutover daemon', process.execPath, args);
  const socketPath = join(dataDir, 'admin.sock');
  const deadline = Date.now() + START_TIMEOUT_MS;
  let info: Record<string, unknown> | null = null;
  while (info === null) {
    try {
      info = JSON.parse(await readFile(join(dataDir, 'daemon.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const health = await adminRequest(socketPath, 'GET', '/v1/health');
      if (health.status !== 200) info = null;
    } catch {
      info = null;
    }
    if (info !== null) break;
    const exited = await Promise.race([child.exited.then(() => true), sleep(50).then(() => false)]);
    if (exited) throw new Error(`cutover daemon exited while starting:\n${child.output()}`);
    if (Date.now() > deadline) {
      throw new Error(`cutover daemon not ready after ${START_TIMEOUT_MS} ms:\n${child.output()}`);
    }
  }
  const publicPort = portOf(info['public'], 'public');
  const previewPort = portOf(info['preview'], 'preview');
  const admin = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminResponse> =>
    adminRequest(socketPath, method, path, body);
  return {
    dataDir,
    child,
    publicPort,
    previewPort,
    publicUrl: `http://127.0.0.1:${publicPort}/`,
    admin,
    adminOk: async (method, path, body) => {
      const response = await admin(method, path, body);
      if (response.status < 200 || response.status > 299) {
        throw new Error(
          `admin ${method} ${path} -> ${response.status} ${JSON.stringify(response.body)}`,
        );
      }
      return response.body;
    },
  };
}

/** Deploys `release` on `instances` for `app` and waits for the flip. */
export async function deployRelease(
  daemon: CutoverDaemon,
  app: string,
  release: string,
  instances: readonly string[],
): Promise<unknown> {
  return daemon.adminOk('POST', `/v1/apps/${app}/deploy`, {
    release,
    instances,
    // Checks at the default 1 s interval: cheap enough not to tax the router under load.
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 3 },
    healthTimeoutMs: 15_000,
  });
}
