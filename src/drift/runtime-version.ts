// The version of the interpreter that runs the app: the first word of `start` run with
// `--version` (`node --version`), with the instances' env (PATH) and working directory, bounded
// by a timeout. Never fails: "unknown" when it cannot tell.
import { execFile } from 'node:child_process';
import { UNKNOWN_VALUE } from './drift-snapshot.ts';

export const RUNTIME_VERSION_TIMEOUT_MS = 5_000;
/** Enough for any version banner; a program that prints more is not answering --version. */
const MAX_OUTPUT_BYTES = 64 * 1024;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** A word the shell would expand or treat specially: not a plain program name. */
const SHELL_SYNTAX = /[$`'"\\|&;<>(){}*?[\]~]/;

/**
 * The program `start` runs: its first word, past `exec`, `env` and leading `NAME=value`
 * assignments (`PORT=1 exec node server.js` -> `node`); null when it is not a plain word.
 */
export function interpreterOf(start: string): string | null {
  const words = start.trim().split(/\s+/);
  for (const word of words) {
    if (word === 'exec' || word === 'env' || ASSIGNMENT.test(word)) continue;
    return word === '' || SHELL_SYNTAX.test(word) ? null : word;
  }
  return null;
}

function firstLine(text: string): string | null {
  const line = text
    .split('\n')
    .map((each) => each.trim())
    .find((each) => each !== '');
  return line === undefined ? null : line.slice(0, 200);
}

export interface RuntimeVersionOptions {
  readonly cwd: string;
  /** The env the instances get (PATH decides which program the word names). */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** `node v24.11.1`, or "unknown". */
export function runtimeVersion(
  start: string | null,
  options: RuntimeVersionOptions,
): Promise<string> {
  const program = start === null ? null : interpreterOf(start);
  if (program === null) return Promise.resolve(UNKNOWN_VALUE);
  return new Promise((resolvePromise) => {
    try {
      execFile(
        program,
        ['--version'],
        {
          cwd: options.cwd,
          env: options.env,
          timeout: options.timeoutMs ?? RUNTIME_VERSION_TIMEOUT_MS,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          // Some interpreters (python2, java) print their version on stderr.
          const line = error === null ? (firstLine(stdout) ?? firstLine(stderr)) : null;
          resolvePromise(line === null ? UNKNOWN_VALUE : `${program} ${line}`);
        },
      );
    } catch {
      resolvePromise(UNKNOWN_VALUE);
    }
  });
}
