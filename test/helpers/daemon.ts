// Starts a real `cutover daemon` child process in a temporary data dir, with port 0 listeners,
// and waits until its admin socket answers. Kill, signal and restart helpers for lifecycle tests.
//
//   const daemon = await startTestDaemon();
//   const reply = await daemon.admin('GET', '/v1/status');
//   await daemon.stop();            // SIGTERM and wait; also removes the temp data dir
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 25;

export interface TestDaemonInfo {
  readonly pid: number;
  readonly version: string;
  readonly public: { readonly host: string; readonly port: number };
  readonly preview: { readonly host: string; readonly port: number };
  readonly admin: {
    readonly socket: string;
    readonly tcp?: { readonly host: string; readonly port: number; readonly url: string };
  };
}

export interface AdminReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** The body parsed as JSON (throws if it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export interface AdminCallOptions {
  /** Sent as JSON with `Content-Type: application/json` unless `headers` says otherwise. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface StartTestDaemonOptions {
  /** Reuse a data dir (e.g. to restart); default: a new temp dir, removed by `stop()`. */
  readonly dataDir?: string;
  /** Default `127.0.0.1:0`. */
  readonly public?: string;
  readonly preview?: string;
  /** Extra flags after the listener flags. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /** Remove the data dir on `stop()`; default true when the helper created it. */
  readonly removeDataDirOnStop?: boolean;
}

export interface TestDaemon {
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly info: TestDaemonInfo;
  /** `http://127.0.0.1:PORT` of the public listener. */
  readonly publicUrl: string;
  readonly previewUrl: string;
  /** Everything the daemon printed so far. */
  stdout(): string;
  stderr(): string;
  /** One GET (new connection) to the public or preview listener. */
  get(
    listener: 'public' | 'preview',
    path: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<AdminReply>;
  /** One admin API call over the Unix socket. */
  admin(method: string, path: string, options?: AdminCallOptions): Promise<AdminReply>;
  /** Resolves with the exit code and signal once the process has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGTERM) and waits for the exit; the data dir is kept. */
  signal(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9 and wait; the data dir is kept for a restart. */
  kill9(): Promise<void>;
  /** Starts a new daemon on the same data dir and the same public/preview ports. */
  restart(options?: Omit<StartTestDaemonOptions, 'dataDir'>): Promise<TestDaemon>;
  /** SIGTERM if still running, then removes the data dir if this helper created it. */
  stop(): Promise<void>;
}

export function adminCall(
  socketPath: string,
  method: string,
  path: string,
  options: AdminCallOptions = {},
): Promise<AdminReply> {
  const hasBody = options.body !== undefined;
  const payload = hasBody
    ? typeof options.body === 'string' || Buffer.isBuffer(options.body)
      ? options.body
      : JSON.stringify(options.body)
    : undefined;
  const headers: Record<string, string> = {
    ...(hasBody ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers, timeout: options.timeoutMs ?? 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`admin call ${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** One GET on a new connection; the body is read whole. */
export function httpGet(
  target: { readonly host: string; readonly port: number },
  path: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 30_000,
): Promise<AdminReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.host, port: target.port, path, headers, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function readInfo(dataDir: string): Promise<TestDaemonInfo | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'daemon.json'), 'utf8')) as TestDaemonInfo;
  } catch {
    return null;
  }
}

export async function startTestDaemon(options: StartTestDaemonOptions = {}): Promise<TestDaemon> {
  const ownsDir = options.removeDataDirOnStop ?? options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'cutover-daemon-')));
  const args = [
    CUTOVER_BIN,
    'daemon',
    '--data-dir',
    dataDir,
    '--public',
    options.public ?? '127.0.0.1:0',
    '--preview',
    options.preview ?? '127.0.0.1:0',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, CUTOVER_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitedEarly = false;
  void exit.then(() => (exitedEarly = true));

  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  let ready: TestDaemonInfo | undefined;
  while (ready === undefined) {
    if (exitedEarly) {
      const { code, signal } = await exit;
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
      throw new Error(
        `cutover daemon exited before it was ready (code ${code}, signal ${signal}):\n${stderr}${stdout}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
      throw new Error(`cutover daemon was not ready in time:\n${stderr}${stdout}`);
    }
    const candidate = await readInfo(dataDir);
    if (candidate !== null && candidate.pid === child.pid) {
      const health = await adminCall(candidate.admin.socket, 'GET', '/v1/health').catch(() => null);
      if (health?.status === 200) {
        ready = candidate;
        break;
      }
    }
    await delay(POLL_MS);
  }

  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const daemon: TestDaemon = {
    dataDir,
    child,
    pid: ready.pid,
    info: ready,
    publicUrl: `http://${ready.public.host}:${ready.public.port}`,
    previewUrl: `http://${ready.preview.host}:${ready.preview.port}`,
    stdout: () => stdout,
    stderr: () => stderr,
    get: (listener, path, headers = {}) =>
      httpGet(listener === 'public' ? ready.public : ready.preview, path, headers),
    admin: (method, path, callOptions) => adminCall(ready.admin.socket, method, path, callOptions),
    exited: () => exit,
    async signal(signal = 'SIGTERM') {
      if (running()) child.kill(signal);
      return exit;
    },
    async kill9() {
      if (running()) child.kill('SIGKILL');
      await exit;
    },
    restart(restartOptions = {}) {
      return startTestDaemon({
        public: `${ready.public.host}:${ready.public.port}`,
        preview: `${ready.preview.host}:${ready.preview.port}`,
        removeDataDirOnStop: ownsDir,
        ...restartOptions,
        dataDir,
      });
    },
    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exit;
        clearTimeout(timer);
      }
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return daemon;
}
