// A release's smoke checks on the shadow (`migrations.compat.smoke`; issue 4 item 3): ONE
// instance of the release, started on the migrated shadow's URL on its own loopback port, never
// routed and never recorded as an app instance; its health checks, then the release's `smoke`
// checks against it, then it stops (the stop signal, SIGKILL after the stop timeout).
//
// The instance must never outlive the check, even when the daemon is killed with SIGKILL: it runs
// in its own process group, which a watchdog (`sh`, reading a pipe only the daemon holds) kills
// when that pipe reaches end-of-file, which the kernel does when the daemon dies. A clean daemon
// exit kills the groups still running from its `exit` handler too.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasLiveGroupMember } from '../../adapters/runtime/process/proc-stat.ts';
import type { AppConfig } from '../../core/app-config.ts';
import type { Clock } from '../../ports/clock.ts';
import type { ProcessStartSpec } from '../../ports/runtime.ts';
import { probeHttp } from '../../probes/http-probe.ts';
import { runSmokeChecks } from '../../probes/smoke.ts';
import type { CheckResult, CompatCheckRunner } from './compat-check.ts';

const LOOPBACK = '127.0.0.1';
/** The report keeps the end of the instance's output: where a crash says why. */
const OUTPUT_TAIL_CHARS = 2_000;
const DETAIL_LINES = 5;
/** After SIGKILL, how long to wait for the group to be gone before giving up on it. */
const KILL_WAIT_MS = 2_000;
const GROUP_POLL_MS = 20;
// Reads its stdin, a pipe only the daemon holds open; end-of-file (the daemon is gone, or
// closed it) kills the instance's whole process group.
const WATCHDOG_SCRIPT = 'read -r _ignored; kill -9 -"$1" 2>/dev/null';

export interface ShadowSmokeCheckOptions {
  /** The release id, for the report and CUTOVER_RELEASE. */
  readonly release: string;
  readonly app: string;
  /** Where and what to start (toProcessStartSpec); `instances` is ignored: one is started. */
  readonly spec: Pick<ProcessStartSpec, 'dir' | 'command' | 'env' | 'stopSignal' | 'stopTimeoutMs'>;
  /** The variable the app reads its database URL from (`database.env`). */
  readonly urlEnv: string;
  readonly health: AppConfig['health'];
  readonly smoke: AppConfig['smoke'];
  /** The Host header the smoke checks send (the app's first host). */
  readonly host: string;
  /** Command smoke checks run here (the release directory). */
  readonly releaseDir: string;
  /** The environment the instance inherits before its own env (default: cutover's own). */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** Stops the check early (the deployment was aborted): the instance is stopped all the same. */
  readonly signal?: AbortSignal;
}

/** Process groups of instances running now, killed if the daemon exits while they run. */
const running = new Set<number>();
let exitHookInstalled = false;

function track(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of running) signalGroup(group, 'SIGKILL');
    });
  }
  running.add(pgid);
}

export function createShadowSmokeCheck(options: ShadowSmokeCheckOptions): CompatCheckRunner {
  return async (shadowUrl) => {
    const started = performance.now();
    const instance = await startInstance(options, shadowUrl);
    const checks: CheckResult[] = [];
    let healthy: string | null;
    try {
      healthy = await waitHealthy(instance, options.health, options.signal);
      if (healthy === null) {
        const report = await runSmokeChecks(options.smoke, {
          baseUrl: `http://${LOOPBACK}:${instance.port}`,
          host: options.host,
          releaseDir: options.releaseDir,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        for (const check of report.checks) {
          checks.push({
            name: `smoke check ${check.name}`,
            passed: check.outcome === 'passed',
            detail: check.reason ?? check.output ?? '',
            durationMs: check.durationMs,
          });
        }
      }
    } finally {
      await stopInstance(instance, options.spec);
    }
    // The instance's own entry carries its start, health wait and stop: the app's time.
    const lifecycleMs =
      performance.now() - started - checks.reduce((sum, check) => sum + check.durationMs, 0);
    const name = `an instance of ${options.release} started on the shadow`;
    const entry: CheckResult =
      healthy === null
        ? {
            name,
            passed: true,
            detail: `healthy on port ${instance.port}`,
            durationMs: lifecycleMs,
          }
        : { name, passed: false, detail: withOutput(healthy, instance), durationMs: lifecycleMs };
    return {
      passed: entry.passed && checks.every((check) => check.passed),
      checks: [entry, ...checks],
    };
  };
}

interface ShadowInstance {
  readonly child: ChildProcess;
  readonly pgid: number;
  readonly port: number;
  readonly watchdog: ChildProcess;
  readonly output: () => string;
  /** Resolves with a description of how the instance's process ended. */
  readonly exited: Promise<string>;
  exitedWith: string | null;
}

async function startInstance(
  options: ShadowSmokeCheckOptions,
  shadowUrl: string,
): Promise<ShadowInstance> {
  const port = await findFreePort();
  const child = spawn('/bin/sh', ['-c', options.spec.command], {
    cwd: options.spec.dir,
    env: {
      ...(options.baseEnv ?? process.env),
      ...options.spec.env,
      [options.urlEnv]: shadowUrl,
      CUTOVER_DATABASE_URL: shadowUrl,
      PORT: String(port),
      CUTOVER_APP: options.app,
      CUTOVER_RELEASE: options.release,
      CUTOVER_INSTANCE: `${options.release}-shadow`,
    },
    // Its own process group (setsid), so a stop reaches whatever the start command started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not start: ${error.message}`));
    child.once('exit', (code, signal) =>
      resolve(code === null ? `killed by ${signal ?? 'a signal'}` : `exit code ${code}`),
    );
  });
  const pid = child.pid;
  if (pid === undefined) {
    const why = await exited;
    throw new Error(
      `could not start \`${options.spec.command}\` in ${options.spec.dir} (${why}): keep a release's directory while it may serve, or set migrations.compat.smoke: false`,
    );
  }
  track(pid);
  const watchdog = spawn(
    '/bin/sh',
    ['-c', WATCHDOG_SCRIPT, 'cutover-shadow-watchdog', String(pid)],
    {
      // Its own group too: a stop signal to the instance's group must not reach it.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watchdog.stdin?.on('error', () => undefined);
  watchdog.once('error', () => undefined);
  watchdog.unref();
  const instance: ShadowInstance = {
    child,
    pgid: pid,
    port,
    watchdog,
    output: () => output,
    exited,
    exitedWith: null,
  };
  void exited.then((why) => {
    instance.exitedWith = why;
  });
  return instance;
}

/** Null once `rise` checks in a row passed; else why the instance never got healthy. */
async function waitHealthy(
  instance: ShadowInstance,
  health: AppConfig['health'],
  signal: AbortSignal | undefined,
): Promise<string | null> {
  const deadline = performance.now() + health.startTimeoutMs;
  const address = `${LOOPBACK}:${instance.port}`;
  let passes = 0;
  let last = 'no check answered yet';
  const stopped = new Promise<void>((resolve) => {
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  while (performance.now() < deadline) {
    if (signal?.aborted === true) return 'stopped before it passed its health check';
    if (instance.exitedWith !== null) {
      return `it exited (${instance.exitedWith}) before passing its health check`;
    }
    const result = await probeHttp(CLOCK, address, health.path, health.timeoutMs);
    if (result.ok) {
      passes += 1;
      if (passes >= health.rise) return null;
    } else {
      passes = 0;
      last = result.detail;
    }
    await Promise.race([sleep(health.intervalMs), instance.exited, stopped]);
  }
  return `not healthy within ${health.startTimeoutMs} ms (GET ${health.path}: ${last})`;
}

async function stopInstance(
  instance: ShadowInstance,
  spec: ShadowSmokeCheckOptions['spec'],
): Promise<void> {
  try {
    signalGroup(instance.pgid, spec.stopSignal ?? 'SIGTERM');
    if (!(await waitGroupGone(instance.pgid, spec.stopTimeoutMs ?? 10_000))) {
      signalGroup(instance.pgid, 'SIGKILL');
      await waitGroupGone(instance.pgid, KILL_WAIT_MS);
    }
    // Reaped, so not even a zombie of it is left.
    await Promise.race([instance.exited, sleep(KILL_WAIT_MS)]);
  } finally {
    running.delete(instance.pgid);
    instance.child.stdout?.destroy();
    instance.child.stderr?.destroy();
    // Killed, not closed: a closed pipe would make it signal a group that is already gone.
    instance.watchdog.kill('SIGKILL');
  }
}

/** True once no process of the group runs (zombies waiting for a slow init do not count). */
async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (signalGroup(pgid, 0) && (await hasLiveGroupMember(pgid))) {
    if (performance.now() >= deadline) return false;
    await sleep(GROUP_POLL_MS);
  }
  return true;
}

function withOutput(why: string, instance: ShadowInstance): string {
  const tail = instance.output().trim().split('\n').slice(-DETAIL_LINES).join('\n');
  return tail === '' ? why : `${why}: ${tail}`;
}

/** False when the group is gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // kill(0) and kill(-1) mean "my own group" and "everyone": never.
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const CLOCK: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal === undefined ? {} : { signal }),
};

/** A free loopback port: bound on port 0 and released, as the process runtime does. */
async function findFreePort(): Promise<number> {
  const server = createServer();
  server.unref();
  server.listen({ host: LOOPBACK, port: 0, exclusive: true });
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error(`could not read the port bound on ${LOOPBACK}`);
  }
  return address.port;
}
