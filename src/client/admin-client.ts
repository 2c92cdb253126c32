// The typed admin-API client, shared by the CLI and the dashboard: one method per route of
// api-types.ts, errors turned back into CutoverError. Imports only core and client.
import type * as Http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { CutoverError, ERROR_CODES } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { API_PREFIX } from './api-types.ts';
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
  AbortRequest,
  DeploymentListResponse,
  DeploymentView,
  DrillReport,
  DrillRequest,
  DriftResponse,
  StartDeploymentRequest,
  AppStatus,
  DeployRequest,
  DeployResponse,
  FlipRequest,
  FlipResponse,
  HealthResponse,
  HistoryResponse,
  RollbackRequest,
  StatusResponse,
} from './api-types.ts';

// Loaded with require, not an ESM import: importing node:http's namespace evaluates its lazy
// getters (fetch, WebSocket: all of undici), about 30 ms of every CLI start. `cutover rollback`
// must be quick.
const { request } = createRequire(import.meta.url)('node:http') as typeof Http;

/** Reads answer quickly; anything slower means the daemon is stuck. */
const READ_TIMEOUT_MS = 15_000;
/** A flip without drain is sub-second; this only bounds a hung daemon. */
const FLIP_TIMEOUT_MS = 60_000;
/** Waiting for a drain can take the daemon's drain timeout (30 s default) plus the grace. */
const DRAIN_WAIT_TIMEOUT_MS = 120_000;
/** A deploy waits for health checks; the daemon's default health timeout is 30 s. */
const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;
const DEPLOY_MARGIN_MS = 30_000;
/** Starting a deployment only validates, locks and persists; abort only records the request. */
const START_OR_ABORT_TIMEOUT_MS = 60_000;
/** A drill waits for two probe windows (back, then forward) and both flips. */
const DRILL_TIMEOUT_MS = 600_000;

/** Reading a database's history, or applying contract migrations: bounded by their timeouts. */
const MIGRATIONS_TIMEOUT_MS = 10 * 60_000;

export const ADMIN_SOCKET_NAME = 'admin.sock';

export type AdminClientOptions =
  { readonly dataDir: string } | { readonly url: string; readonly token?: string | undefined };

export interface MutationOptions {
  /** The state revision the caller read; a stale one is refused with 412. */
  readonly ifMatch?: number;
}

export interface AdminClient {
  /** Where the client connects, for messages: the socket path or the URL. */
  readonly target: string;
  health(): Promise<HealthResponse>;
  status(): Promise<StatusResponse>;
  app(name: string): Promise<AppStatus>;
  deploy(app: string, body: DeployRequest, options?: MutationOptions): Promise<DeployResponse>;
  flip(app: string, body: FlipRequest, options?: MutationOptions): Promise<FlipResponse>;
  rollback(app: string, body: RollbackRequest, options?: MutationOptions): Promise<FlipResponse>;
  history(query?: { app?: string; limit?: number }): Promise<HistoryResponse>;
  startDeployment(app: string, body: StartDeploymentRequest): Promise<DeploymentView>;
  getDeployment(id: string): Promise<DeploymentView>;
  listDeployments(query?: { app?: string; limit?: number }): Promise<DeploymentListResponse>;
  abortDeployment(id: string, body?: AbortRequest): Promise<DeploymentView>;
  abortApp(app: string, body?: AbortRequest): Promise<DeploymentView>;
  /** `cutover promote`: the app's canary skips its remaining steps to the flip (issue 5). */
  promoteApp(app: string): Promise<DeploymentView>;
  drill(app: string, body?: DrillRequest): Promise<DrillReport>;
  migrationsPlan(app: string, body: MigrationsPlanRequest): Promise<MigrationsPlanResponse>;
  migrationsStatus(app: string): Promise<MigrationsPlanResponse>;
  migrationsContract(app: string): Promise<MigrationsContractResponse>;
  /** The drift report between the app's colors (issue 5). */
  drift(app: string): Promise<DriftResponse>;
}

interface Endpoint {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
  readonly token?: string;
  readonly target: string;
  readonly hint: string;
}

interface CallSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
  readonly ifMatch?: number | undefined;
  readonly timeoutMs: number;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const endpoint = resolveEndpoint(options);
  const call = <T>(spec: CallSpec): Promise<T> => callAdmin<T>(endpoint, spec);
  const appPath = (app: string, action?: string): string =>
    `${API_PREFIX}/apps/${encodeURIComponent(app)}${action === undefined ? '' : `/${action}`}`;
  return {
    target: endpoint.target,
    health: () => call({ method: 'GET', path: `${API_PREFIX}/health`, timeoutMs: READ_TIMEOUT_MS }),
    status: () => call({ method: 'GET', path: `${API_PREFIX}/status`, timeoutMs: READ_TIMEOUT_MS }),
    app: (name) => call({ method: 'GET', path: appPath(name), timeoutMs: READ_TIMEOUT_MS }),
    deploy: (app, body, opts) =>
      call({
        method: 'POST',
        path: appPath(app, 'deploy'),
        body,
        ifMatch: opts?.ifMatch,
        timeoutMs: (body.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS) + DEPLOY_MARGIN_MS,
      }),
    flip: (app, body, opts) =>
      call({
        method: 'POST',
        path: appPath(app, 'flip'),
        body,
        ifMatch: opts?.ifMatch,
        timeoutMs: body.waitDrain === true ? DRAIN_WAIT_TIMEOUT_MS : FLIP_TIMEOUT_MS,
      }),
    rollback: (app, body, opts) =>
      call({
        method: 'POST',
        path: appPath(app, 'rollback'),
        body,
        ifMatch: opts?.ifMatch,
        timeoutMs: body.waitDrain === true ? DRAIN_WAIT_TIMEOUT_MS : FLIP_TIMEOUT_MS,
      }),
    history: (query = {}) =>
      call({
        method: 'GET',
        path: `${API_PREFIX}/history${searchOf(query)}`,
        timeoutMs: READ_TIMEOUT_MS,
      }),
    startDeployment: (app, body) =>
      call({
        method: 'POST',
        path: appPath(app, 'deployments'),
        body,
        timeoutMs: START_OR_ABORT_TIMEOUT_MS,
      }),
    getDeployment: (id) =>
      call({ method: 'GET', path: deploymentPath(id), timeoutMs: READ_TIMEOUT_MS }),
    listDeployments: (query = {}) =>
      call({
        method: 'GET',
        path: `${API_PREFIX}/deployments${searchOf(query)}`,
        timeoutMs: READ_TIMEOUT_MS,
      }),
    abortDeployment: (id, body = {}) =>
      call({
        method: 'POST',
        path: deploymentPath(id, 'abort'),
        body,
        timeoutMs: START_OR_ABORT_TIMEOUT_MS,
      }),
    abortApp: (app, body = {}) =>
      call({
        method: 'POST',
        path: appPath(app, 'abort'),
        body,
        timeoutMs: START_OR_ABORT_TIMEOUT_MS,
      }),
    promoteApp: (app) =>
      call({
        method: 'POST',
        path: appPath(app, 'promote'),
        body: {},
        timeoutMs: START_OR_ABORT_TIMEOUT_MS,
      }),
    drill: (app, body = {}) =>
      call({ method: 'POST', path: appPath(app, 'drill'), body, timeoutMs: DRILL_TIMEOUT_MS }),
    migrationsPlan: (app, body) =>
      call({
        method: 'POST',
        path: appPath(app, 'migrations/plan'),
        body,
        timeoutMs: MIGRATIONS_TIMEOUT_MS,
      }),
    migrationsStatus: (app) =>
      call({ method: 'GET', path: appPath(app, 'migrations'), timeoutMs: MIGRATIONS_TIMEOUT_MS }),
    migrationsContract: (app) =>
      call({
        method: 'POST',
        path: appPath(app, 'migrations/contract'),
        body: {},
        timeoutMs: MIGRATIONS_TIMEOUT_MS,
      }),
    drift: (app) =>
      call({ method: 'GET', path: appPath(app, 'drift'), timeoutMs: READ_TIMEOUT_MS }),
  };
}

function deploymentPath(id: string, action?: string): string {
  return `${API_PREFIX}/deployments/${encodeURIComponent(id)}${action === undefined ? '' : `/${action}`}`;
}

/** `?app=&limit=` of the list routes; empty when neither is given. */
function searchOf(query: { app?: string; limit?: number }): string {
  const params = new URLSearchParams();
  if (query.app !== undefined) params.set('app', query.app);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  return params.size === 0 ? '' : `?${params.toString()}`;
}

function resolveEndpoint(options: AdminClientOptions): Endpoint {
  if ('dataDir' in options) {
    const socketPath = resolve(options.dataDir, ADMIN_SOCKET_NAME);
    return {
      socketPath,
      target: socketPath,
      hint:
        `no daemon answers on ${socketPath}: start one with ` +
        `\`cutover daemon --data-dir ${resolve(options.dataDir)}\`, ` +
        'or pass the data dir of the running one with --data-dir (or CUTOVER_DATA_DIR)',
    };
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `the admin URL "${options.url}" is not a URL: pass one like http://127.0.0.1:8082`,
    );
  }
  if (url.protocol !== 'http:') {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `the admin URL "${options.url}" must start with http:// (the admin API listens on loopback only)`,
    );
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host,
    port: url.port === '' ? 80 : Number(url.port),
    ...(options.token === undefined || options.token === '' ? {} : { token: options.token }),
    target: url.origin,
    hint:
      `no daemon answers on ${url.origin}: start it with \`cutover daemon --admin-tcp ${url.host}\` ` +
      'and a token, or check --admin-url (CUTOVER_ADMIN_URL)',
  };
}

function callAdmin<T>(endpoint: Endpoint, spec: CallSpec): Promise<T> {
  const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  if (spec.ifMatch !== undefined) headers['if-match'] = `"${spec.ifMatch}"`;
  if (endpoint.token !== undefined) headers.authorization = `Bearer ${endpoint.token}`;
  return new Promise<T>((resolvePromise, reject) => {
    // One connection per call (agent: false): the CLI exits right after, nothing to keep alive.
    const req = request(
      {
        method: spec.method,
        path: spec.path,
        headers,
        agent: false,
        ...(endpoint.socketPath === undefined
          ? { host: endpoint.host, port: endpoint.port }
          : { socketPath: endpoint.socketPath, host: 'localhost' }),
      },
      (res) => {
        readBody(res).then(
          (text) => {
            try {
              resolvePromise(decodeResponse<T>(res.statusCode ?? 0, text));
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          },
          (error: unknown) => reject(connectionError(endpoint, error)),
        );
      },
    );
    req.setTimeout(spec.timeoutMs, () => {
      req.destroy(
        new CutoverError(
          'CUTOVER_ERR_DAEMON_UNREACHABLE',
          `the daemon at ${endpoint.target} did not answer ${spec.method} ${spec.path} within ${spec.timeoutMs / 1000} s`,
        ),
      );
    });
    req.on('error', (error) => reject(connectionError(endpoint, error)));
    req.end(payload);
  });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('the daemon closed the connection mid-answer')));
  });
}

function decodeResponse<T>(status: number, text: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CutoverError(
      'CUTOVER_ERR_INTERNAL',
      `the daemon answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (status >= 200 && status < 300) return parsed as T;
  throw toCutoverError(status, parsed);
}

/** Turns the admin API's `{ error: { code, message } }` back into the error it was. */
export function toCutoverError(status: number, body: unknown): CutoverError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = error?.code;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const details = isRecord(error?.details) ? error.details : undefined;
  if (typeof code === 'string' && Object.hasOwn(ERROR_CODES, code)) {
    return new CutoverError(code as ErrorCode, message, details);
  }
  // A code this client does not know (a newer daemon): keep it visible in the message.
  const shown = typeof code === 'string' ? `${message} (${code})` : message;
  return new CutoverError('CUTOVER_ERR_INTERNAL', `the daemon answered HTTP ${status}: ${shown}`);
}

function connectionError(endpoint: Endpoint, error: unknown): CutoverError {
  if (error instanceof CutoverError) return error;
  const code = isRecord(error) && typeof error.code === 'string' ? error.code : undefined;
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new CutoverError('CUTOVER_ERR_DAEMON_UNREACHABLE', `${endpoint.hint} (${reason})`, {
    target: endpoint.target,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
