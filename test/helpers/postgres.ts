// A throwaway PostgreSQL server for tests: its own data directory (initdb), loopback only, on a
// free port, with durability off for speed. One server per test file; `stop()` removes it, and
// so does process exit. initdb and postgres refuse to run as root: as root they run as the
// `postgres` user (created by the Debian package) through setpriv.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';

export interface TestPostgres {
  /** A URL for database `db` (default `postgres`) as the superuser `postgres`. */
  url(db?: string): string;
  readonly adminUrl: string;
  /** The directory holding initdb, postgres, pg_dump, psql. */
  readonly binDir: string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, postgres) were not found: install them (apt-get install -y postgresql) or put their bin directory on PATH';

/** Where initdb and postgres live: `pg_config --bindir`, /usr/lib/postgresql/<v>/bin, or PATH. */
export function findPostgresBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config is optional (libpq-dev on some systems); the next places are checked.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(root, version, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter((dir) => dir !== ''));
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (found === undefined) throw new Error(INSTALL_HINT);
  return found;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** The command prefix that drops root, empty when not root. */
  readonly prefix: readonly string[];
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { uid: -1, gid: -1, prefix: [] };
  let ids: string[];
  try {
    ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
      .trim()
      .concat(' ', execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
      .split(' ');
  } catch {
    throw new Error(
      'running as root, and PostgreSQL refuses root: create a postgres user (the Debian package does) or run the tests as another user',
    );
  }
  const [uid, gid] = ids.map(Number) as [number, number];
  return {
    uid,
    gid,
    prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'],
  };
}

function command(as: RunAs, file: string, args: readonly string[]): [string, string[]] {
  const [head, ...rest] = [...as.prefix, file, ...args];
  return [head ?? file, rest];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited while starting:\n${output()}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      last = (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
    await delay(50);
  }
  throw new Error(`postgres did not accept connections in ${READY_TIMEOUT_MS} ms (${last})`);
}

/** Starts a fresh server; retries once on a lost race for the free port. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const binDir = findPostgresBinDir();
  const as = runAs();
  const root = mkdtempSync(join(tmpdir(), 'cutover-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  execFileSync('mkdir', ['-m', '0700', dataDir, socketDir]);
  if (as.uid >= 0) {
    for (const dir of [root, dataDir, socketDir]) chownSync(dir, as.uid, as.gid);
  }
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  try {
    const [initFile, initArgs] = command(as, join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '--auth=trust',
      '--username=postgres',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    execFileSync(initFile, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    removeRoot();
    throw new Error(`initdb failed: ${(error as Error).message}`, { cause: error });
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const [file, args] = command(as, join(binDir, 'postgres'), [
      '-D',
      dataDir,
      '-k',
      socketDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-F',
      '-c',
      'fsync=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'max_connections=100',
    ]);
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log = (log + chunk).slice(-4000);
    });
    // setpriv execs postgres, so this pid is the postmaster's: SIGQUIT is an immediate stop.
    const onExit = () => {
      try {
        child.kill('SIGQUIT');
      } catch {
        // Already gone.
      }
      removeRoot();
    };
    process.once('exit', onExit);
    const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
    try {
      await waitReady(url(), child, () => log);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      process.removeListener('exit', onExit);
      continue;
    }
    let stopped = false;
    return {
      url,
      adminUrl: url(),
      binDir,
      async createDatabase(name: string): Promise<string> {
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        } finally {
          await client.end();
        }
        return url(name);
      },
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGINT');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exited;
          clearTimeout(timer);
        }
        removeRoot();
      },
    };
  }
  removeRoot();
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
