// A release's compat command (`migrations.compat.command`) as a shadow check: run by `sh -c` in
// the release's folder with the shadow's URL in CUTOVER_DATABASE_URL and in the env var the app
// reads (`database.env`); exit 0 passes. Its output's last lines become the report's detail, so
// "v2 failed the compat command" also says what v2 saw.
import { spawn } from 'node:child_process';
import type { CheckOutcome, CompatCheckRunner } from './compat-check.ts';

export const COMPAT_COMMAND_TIMEOUT_MS = 60_000;
/** The report keeps the end of the output: where a failing command says why. */
const OUTPUT_TAIL_CHARS = 2_000;
const DETAIL_LINES = 5;

export interface CommandCheckOptions {
  readonly command: string;
  readonly cwd: string;
  /** The variable the app reads its database URL from (`database.env`), e.g. DATABASE_URL. */
  readonly urlEnv: string;
  /** The rest of the command's environment (default: cutover's own). */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export function createCommandCheck(options: CommandCheckOptions): CompatCheckRunner {
  return (shadowUrl) => runCommandCheck(options, shadowUrl);
}

async function runCommandCheck(
  options: CommandCheckOptions,
  shadowUrl: string,
): Promise<CheckOutcome> {
  const timeoutMs = options.timeoutMs ?? COMPAT_COMMAND_TIMEOUT_MS;
  const started = performance.now();
  const child = spawn('/bin/sh', ['-c', options.command], {
    cwd: options.cwd,
    env: {
      ...(options.env ?? process.env),
      CUTOVER_DATABASE_URL: shadowUrl,
      [options.urlEnv]: shadowUrl,
    },
    // Its own process group, so a timeout reaches whatever the command started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(child.pid, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      output += error.message;
      resolve(null);
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  const durationMs = performance.now() - started;
  const passed = code === 0 && !timedOut;
  const tail = output.trim().split('\n').slice(-DETAIL_LINES).join('\n');
  const why = timedOut
    ? `timed out after ${timeoutMs} ms`
    : code === null
      ? 'could not run'
      : `exit code ${code}`;
  return {
    passed,
    checks: [
      {
        name: `the compat command \`${options.command}\``,
        passed,
        detail: passed ? tail : `${why}${tail === '' ? '' : `: ${tail}`}`,
        durationMs,
      },
    ],
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
