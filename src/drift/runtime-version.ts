// The version of the interpreter that runs the app: the first word of `start` run with
// `--version` (`node --version`), with the instances' env (PATH) and working directory, bounded
// by a timeout. Never fails: "unknown" when it cannot tell.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { UNKNOWN_VALUE } from './drift-snapshot.ts';

export const RUNTIME_VERSION_TIMEOUT_MS = 5_000;
/** Enough for any version banner; a program that prints more is not answering --version. */
const MAX_OUTPUT_BYTES = 64 * 1024;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** A word the shell would expand or treat specially: not a plain program name. */
const SHELL_SYNTAX = /[$`'"\\|&;<>(){}*?[\]~]/;

/** Where one shell command of a list ends: `;`, `&&`, `||`, a newline. */
const COMMAND_SEPARATOR = /;|&&|\|\||\n/;

/**
 * The program `start` runs: the first word of its last command (the one that stays running:
 * `sleep 2; exec node server.js` -> `node`), past `exec`, `env` and leading `NAME=value`
 * assignments (`PORT=1 exec node server.js` -> `node`); null when it is not a plain word.
 */
export function interpreterOf(start: string): string | null {
  const commands = start.split(COMMAND_SEPARATOR).filter((each) => each.trim() !== '');
  const words = (commands.at(-1) ?? '').trim().split(/\s+/);
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

/** Answers remembered per interpreter file; a bound, not a working set, for a daemon's life. */
const CACHE_LIMIT = 64;
const answers = new Map<string, string>();

/** The file `program` names under the instances' PATH (as the shell finds it), or null. */
async function locate(program: string, options: RuntimeVersionOptions): Promise<string | null> {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(options.cwd, program)]
    : (options.env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(isAbsolute(dir) ? dir : resolve(options.cwd, dir), program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return await realpath(candidate);
    } catch {
      // Not there, or not executable: the shell would look further along PATH too.
    }
  }
  return null;
}

/**
 * Where the interpreter's file is and which bytes it holds, as far as its inode, size and
 * modification time tell: the same key means the same answer to --version, so a deployment
 * asks once per interpreter, and an upgrade in place (a new file) is asked again.
 */
async function identityOf(program: string, options: RuntimeVersionOptions): Promise<string | null> {
  const file = await locate(program, options);
  if (file === null) return null;
  try {
    const info = await stat(file);
    return `${file}\0${String(info.ino)}\0${String(info.size)}\0${String(info.mtimeMs)}`;
  } catch {
    return null;
  }
}

/** `node v24.11.1`, or "unknown". */
export async function runtimeVersion(
  start: string | null,
  options: RuntimeVersionOptions,
): Promise<string> {
  const program = start === null ? null : interpreterOf(start);
  if (program === null) return UNKNOWN_VALUE;
  const identity = await identityOf(program, options);
  const known = identity === null ? undefined : answers.get(identity);
  if (known !== undefined) return known;
  const answer = await askVersion(program, options);
  if (identity !== null && answer !== UNKNOWN_VALUE) {
    if (answers.size >= CACHE_LIMIT) answers.delete(answers.keys().next().value ?? '');
    answers.set(identity, answer);
  }
  return answer;
}

function askVersion(program: string, options: RuntimeVersionOptions): Promise<string> {
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
