// The smoke checks of a release (DESIGN.md step 7): HTTP requests and commands run against the
// idle color through the preview listener, before any user sees it. A failing check is a result
// in the report, never a thrown error: the pipeline decides what a failure means.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type {
  AppConfig,
  CommandSmokeCheck,
  HttpSmokeCheck,
  SmokeCheck,
} from '../core/app-config.ts';

/** Bodies beyond this are not read further; a smoke page is small. */
const MAX_BODY_BYTES = 1024 * 1024;
/** A command's output kept for the report: the tail, as that is where failures are told. */
const MAX_OUTPUT_BYTES = 64 * 1024;
const OUTPUT_TAIL_LINES = 20;
/** After the script exits, how long its output pipes may stay open before they are cut. */
const OUTPUT_GRACE_MS = 500;

export interface SmokeContext {
  /** The idle color's preview URL, like `http://127.0.0.1:8081`. */
  readonly baseUrl: string;
  /** The Host header the preview listener routes by. */
  readonly host: string;
  /** Command checks run here. */
  readonly releaseDir: string;
  readonly signal?: AbortSignal;
}

export type SmokeCheckOutcome = 'passed' | 'failed';

export interface SmokeCheckResult {
  readonly index: number;
  readonly kind: SmokeCheck['kind'];
  /** `GET /healthz` or the command, for people. */
  readonly name: string;
  readonly outcome: SmokeCheckOutcome;
  /** Why it failed (`status 500, expected 200`); null when it passed. */
  readonly reason: string | null;
  readonly durationMs: number;
  /** A command's last lines of output (stdout and stderr together); null for HTTP checks. */
  readonly output: string | null;
}

export interface SmokeReport {
  readonly passed: boolean;
  readonly checks: readonly SmokeCheckResult[];
  readonly durationMs: number;
}

/** Runs every check in order; the report says which failed and why. */
export async function runSmokeChecks(
  checks: AppConfig['smoke'],
  context: SmokeContext,
): Promise<SmokeReport> {
  const started = performance.now();
  const agent = new Agent({ connections: 1 });
  const results: SmokeCheckResult[] = [];
  try {
    for (const [index, check] of checks.entries()) {
      const checkStarted = performance.now();
      const verdict =
        check.kind === 'http'
          ? await runHttpCheck(check, context, agent)
          : await runCommandCheck(check, context);
      results.push({
        index,
        kind: check.kind,
        name: check.kind === 'http' ? `${check.method} ${check.path}` : check.command,
        outcome: verdict.reason === null ? 'passed' : 'failed',
        reason: verdict.reason,
        durationMs: Math.round(performance.now() - checkStarted),
        output: verdict.output,
      });
    }
  } finally {
    await agent.close();
  }
  return {
    passed: results.every((result) => result.outcome === 'passed'),
    checks: results,
    durationMs: Math.round(performance.now() - started),
  };
}

interface Verdict {
  readonly reason: string | null;
  readonly output: string | null;
}

function withTimeout(timeoutMs: number, signal: AbortSignal | undefined): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
}

function describeRequestError(error: unknown, timeoutMs: number, signal?: AbortSignal): string {
  if (signal?.aborted === true) return 'stopped';
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timeout after ${timeoutMs} ms`;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return `timeout after ${timeoutMs} ms`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function runHttpCheck(
  check: HttpSmokeCheck,
  context: SmokeContext,
  agent: Agent,
): Promise<Verdict> {
  const signal = withTimeout(check.timeoutMs, context.signal);
  let status: number;
  let body: string;
  try {
    const response = await request(new URL(check.path, context.baseUrl), {
      method: check.method,
      headers: { host: context.host, 'user-agent': 'cutover-smoke' },
      dispatcher: agent,
      signal,
    });
    status = response.statusCode;
    body = await readBounded(response.body);
  } catch (error) {
    return { reason: describeRequestError(error, check.timeoutMs, context.signal), output: null };
  }
  if (status !== check.status) {
    return { reason: `status ${status}, expected ${check.status}`, output: null };
  }
  if (check.bodyContains !== null && !body.includes(check.bodyContains)) {
    return { reason: `body does not contain ${JSON.stringify(check.bodyContains)}`, output: null };
  }
  const jsonFields = Object.entries(check.json);
  if (jsonFields.length === 0) return { reason: null, output: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch {
    return { reason: 'body is not JSON', output: null };
  }
  for (const [path, expected] of jsonFields) {
    const found = valueAtPath(parsed, path);
    if (!found.present) return { reason: `JSON field ${path} is missing`, output: null };
    if (found.value !== expected) {
      return {
        reason: `JSON field ${path} is ${formatValue(found.value)}, expected ${formatValue(expected)}`,
        output: null,
      };
    }
  }
  return { reason: null, output: null };
}

async function readBounded(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

/** Follows a dotted path (`data.items.0.id`) through objects and arrays. */
export function valueAtPath(
  value: unknown,
  path: string,
): { present: true; value: unknown } | { present: false } {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) {
      return { present: false };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { present: true, value: current };
}

function formatValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function runCommandCheck(check: CommandSmokeCheck, context: SmokeContext): Promise<Verdict> {
  return new Promise<Verdict>((resolve) => {
    let output = Buffer.alloc(0);
    let settled = false;
    let stoppedBy: string | null = null;
    const child = spawn('sh', ['-c', check.command], {
      cwd: context.releaseDir,
      env: { ...process.env, CUTOVER_URL: context.baseUrl, CUTOVER_HOST: context.host },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout kills the whole script and what it started.
      detached: true,
    });
    const keep = (chunk: Buffer): void => {
      output = Buffer.concat([output, chunk]);
      if (output.length > MAX_OUTPUT_BYTES) output = output.subarray(-MAX_OUTPUT_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const killGroup = (why: string): void => {
      stoppedBy ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      killGroup(`timeout after ${check.timeoutMs} ms`);
    }, check.timeoutMs);
    const onAbort = (): void => {
      killGroup('stopped');
    };
    context.signal?.addEventListener('abort', onAbort, { once: true });
    if (context.signal?.aborted === true) onAbort();
    const finish = (reason: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      context.signal?.removeEventListener('abort', onAbort);
      resolve({ reason, output: tailLines(output.toString('utf8')) });
    };
    child.on('error', (error) => {
      finish(`could not run sh: ${error.message}`);
    });
    const verdictOf = (code: number | null, signal: NodeJS.Signals | null): string | null => {
      if (stoppedBy !== null) return stoppedBy;
      if (code === 0) return null;
      if (code !== null) return `exit code ${code}`;
      return `killed by ${signal ?? 'a signal'}`;
    };
    child.on('close', (code, signal) => {
      finish(verdictOf(code, signal));
    });
    // A process the script left behind in another session may hold the output pipes open:
    // the script's exit decides, after a moment for the output to arrive.
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(verdictOf(code, signal));
      }, OUTPUT_GRACE_MS).unref();
    });
  });
}

function tailLines(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-OUTPUT_TAIL_LINES).join('\n');
}
