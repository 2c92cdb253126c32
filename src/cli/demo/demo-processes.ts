// The child process the demo starts: a `cutover daemon` on port-0 listeners in a temporary data
// dir, with the shop's database in it. Its handle stops it politely (SIGTERM), then firmly (SIGKILL). The app instances are the
// daemon's (its process runtime starts them): demo-instances.ts stops those.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CutoverError } from '../../core/errors.ts';

export const CUTOVER_BIN = fileURLToPath(new URL('../../../bin/cutover.js', import.meta.url));

const DAEMON_START_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 50;
/** The daemon's own graceful-stop deadline is 10 s; give it that, then kill. */
const DAEMON_STOP_TIMEOUT_MS = 12_000;
const STDERR_KEPT_CHARS = 2_000;

export interface ChildHandle {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines the process wrote to stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface DaemonHandle extends ChildHandle {
  readonly publicOrigin: string;
  readonly previewOrigin: string;
}

interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

function origin(address: BoundAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}

function track(name: string, child: ChildProcess, stopTimeoutMs: number): ChildHandle {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_KEPT_CHARS);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    child,
    stderrTail: () => tail.trim(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function exitedEarly(handle: ChildHandle, what: string): CutoverError {
  const { exitCode, signalCode } = handle.child;
  const how = signalCode === null ? `exit code ${exitCode}` : `signal ${signalCode}`;
  const tail = handle.stderrTail();
  return new CutoverError(
    'CUTOVER_ERR_DEMO_FAILED',
    `${what} exited (${how}) before it was ready${tail === '' ? '' : `: ${tail}`}`,
  );
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * The shop releases with a database name it by the daemon's SHOP_DATABASE_URL: a SQLite file in
 * the demo's data dir, so it goes away with it.
 */
export function shopDatabaseUrl(dataDir: string): string {
  return `sqlite:${join(dataDir, 'shop.db')}`;
}

/** Starts `cutover daemon` in `dataDir` with port-0 listeners and waits for its daemon.json. */
export async function startDemoDaemon(dataDir: string, signal: AbortSignal): Promise<DaemonHandle> {
  const child = spawn(
    process.execPath,
    [
      CUTOVER_BIN,
      'daemon',
      '--data-dir',
      dataDir,
      '--public',
      '127.0.0.1:0',
      '--preview',
      '127.0.0.1:0',
      '--log-file',
      'daemon.log',
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CUTOVER_ADMIN_TCP: '', SHOP_DATABASE_URL: shopDatabaseUrl(dataDir) },
    },
  );
  const handle = track('cutover daemon', child, DAEMON_STOP_TIMEOUT_MS);
  const infoPath = join(dataDir, 'daemon.json');
  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (signal.aborted) throw interrupted();
      if (hasExited(child)) throw exitedEarly(handle, 'the daemon');
      const info = await readInfo(infoPath);
      if (info !== null && info.pid === child.pid) {
        return {
          ...handle,
          publicOrigin: origin(info.public),
          previewOrigin: origin(info.preview),
        };
      }
      await delay(POLL_INTERVAL_MS);
    }
    throw new CutoverError(
      'CUTOVER_ERR_DEMO_FAILED',
      `the daemon did not write ${infoPath} within ${DAEMON_START_TIMEOUT_MS / 1000} s`,
    );
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

async function readInfo(
  path: string,
): Promise<{ pid: number; public: BoundAddress; preview: BoundAddress } | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as {
      pid: number;
      public: BoundAddress;
      preview: BoundAddress;
    };
  } catch {
    // Not written yet: the daemon writes it atomically once every listener is bound.
    return null;
  }
}

export function interrupted(): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_DEMO_FAILED',
    'interrupted: stopped everything the demo started',
  );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
