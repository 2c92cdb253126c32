// Child processes of a benchmark (peers, upstream apps, the cutover daemon): output kept for
// error messages, stopped at cleanup with SIGTERM, then SIGKILL if they hang.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './cleanup.ts';

const STOP_GRACE_MS = 5000;
const OUTPUT_LIMIT_CHARS = 64 * 1024;

export interface ChildHandle {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`, or rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  options: StartChildOptions = {},
): ChildHandle {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdoutBuffer = '';
  const lineListeners = new Set<(line: string) => void>();
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT_CHARS);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    append(chunk);
    stdoutBuffer += chunk.toString('utf8');
    let newline = stdoutBuffer.indexOf('\n');
    while (newline !== -1) {
      const line = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      for (const listener of lineListeners) listener(line);
      newline = stdoutBuffer.indexOf('\n');
    }
  });
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      output += `\nspawn error: ${error.message}`;
      resolve(null);
    });
  });
  let exitedNow = false;
  void exited.then(() => {
    exitedNow = true;
  });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (exitedNow || child.pid === undefined) return;
    child.kill(signal);
    const result = await Promise.race([exited.then(() => 'exited'), sleep(STOP_GRACE_MS)]);
    if (result !== 'exited') {
      child.kill('SIGKILL');
      await exited;
    }
  };
  onCleanup(() => stop());

  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        lineListeners.delete(listener);
        reject(
          new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms:\n${output}`),
        );
      }, timeoutMs);
      const listener = (line: string): void => {
        const match = pattern.exec(line);
        if (match === null) return;
        clearTimeout(timer);
        lineListeners.delete(listener);
        resolve(match);
      };
      lineListeners.add(listener);
      void exited.then((code) => {
        clearTimeout(timer);
        if (lineListeners.delete(listener)) {
          reject(new Error(`${name} exited (code ${code}) before printing ${pattern}:\n${output}`));
        }
      });
    });

  return {
    name,
    process: child,
    pid: child.pid ?? -1,
    output: () => output,
    waitForLine,
    exited,
    stop,
  };
}

/** Polls until a TCP connect to host:port succeeds. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  owner?: ChildHandle,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (owner !== undefined && owner.process.exitCode !== null) {
      throw new Error(`${owner.name} exited (code ${owner.process.exitCode}):\n${owner.output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${owner?.name ?? 'peer'}: ${host}:${port} not listening after ${timeoutMs} ms` +
          (owner === undefined ? '' : `:\n${owner.output()}`),
      );
    }
    await sleep(20);
  }
}
