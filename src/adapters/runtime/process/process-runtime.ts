// The process runtime (issue 3): starts each instance of a release as a detached process group
// with its own port, env and log file, records it so a new daemon can re-adopt it, restarts it
// with backoff when it crashes, and stops it gracefully (signal, then SIGKILL after a timeout).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { resolveAppEnv } from '../../../config/resolve-app-env.ts';
import type { EnvValue } from '../../../core/app-config.ts';
import { CutoverError, isCutoverError } from '../../../core/errors.ts';
import type { Color, InstanceSpec } from '../../../core/types.ts';
import type {
  AdoptedInstance,
  InstanceEvent,
  ProcessStartSpec,
  Runtime,
  StartRequest,
} from '../../../ports/runtime.ts';
import { findFreePort } from './free-port.ts';
import {
  INSTANCE_RECORD_VERSION,
  type InstanceRecord,
  readInstanceRecords,
  removeInstanceRecord,
  writeInstanceRecord,
} from './instance-record.ts';
import { isSameProcessAlive, readProcessStat } from './proc-stat.ts';
import { signalGroup, waitForGroupExit } from './process-group.ts';
import { APP_NAME_PATTERN, firstIndexOf, formatAddress, validateStartSpec } from './start-spec.ts';
import {
  createRestartBackoff,
  DEFAULT_RESTART_BACKOFF,
  type RestartBackoff,
  type RestartBackoffOptions,
} from './restart-backoff.ts';

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_STOP_SIGNAL: NodeJS.Signals = 'SIGTERM';
/** How often an adopted instance (not our child: no exit event) is checked for life. */
export const ADOPTED_POLL_MS = 500;
/** The line that lets a spawned instance start, and the shell line that waits for it. */
const START_GATE_LINE = 'start';
const START_GATE = `read -r cutover_gate && [ "$cutover_gate" = ${START_GATE_LINE} ] || exit 70; unset cutover_gate`;
/** How long to wait for a group to vanish after SIGKILL before giving up. */
const KILL_WAIT_MS = 5_000;

export interface ProcessRuntimeOptions {
  /** Where records and logs live: `<stateDir>/<app>/<instance>.json` and `.log`. */
  readonly stateDir: string;
  /** The loopback address instances get a port on and are routed to (default 127.0.0.1). */
  readonly host?: string;
  readonly onInstanceEvent?: (event: InstanceEvent) => void;
  readonly backoff?: Partial<RestartBackoffOptions>;
  readonly adoptedPollMs?: number;
  /**
   * The environment instances inherit before their own env, and where the `fromEnv` references
   * of an adopted instance are resolved again (default the daemon's).
   */
  readonly baseEnv?: NodeJS.ProcessEnv;
}

export interface ProcessRuntime extends Runtime {
  readonly kind: 'process';
  adopt(app?: string): Promise<readonly AdoptedInstance[]>;
  close(): Promise<void>;
  /** The pid of a supervised instance now (it changes on restart), for status and tests. */
  pidOf(app: string, id: string): number | null;
}

type SupervisedState = 'running' | 'restarting' | 'stopping';

interface Supervised {
  record: InstanceRecord;
  /**
   * The env values this runtime started it with, kept in memory only; null for an instance
   * known from its record (adopted), whose env is resolved from the record at each restart.
   */
  readonly env: Readonly<Record<string, string>> | null;
  /** Our child when this daemon started it; null for an adopted one. */
  child: ChildProcess | null;
  startedAtMs: number;
  state: SupervisedState;
  timer: NodeJS.Timeout | null;
  readonly backoff: RestartBackoff;
  stopping: Promise<void> | null;
  /** A spawn in flight: a stop waits for it, or the new process would escape the stop. */
  spawning: Promise<void> | null;
}

/**
 * What the record keeps of a start spec's env: a secret as its reference (a relative `fromFile`
 * path made absolute against the instance's directory), anything else as the value the instance
 * got, so a literal restarts exactly as it started.
 */
function envSourcesOf(spec: ProcessStartSpec): Record<string, EnvValue> {
  const sources: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    const given = spec.envSources?.[name];
    const source: EnvValue =
      given === undefined || given.kind === 'value' ? { kind: 'value', value } : given;
    sources[name] =
      source.kind === 'fromFile' && !isAbsolute(source.path)
        ? { kind: 'fromFile', path: resolve(spec.dir, source.path) }
        : source;
  }
  return sources;
}

/** An error as the reason of an event: with its registry code when it has one. */
function reasonOf(error: unknown): string {
  if (isCutoverError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export function createProcessRuntime(options: ProcessRuntimeOptions): ProcessRuntime {
  const host = options.host ?? '127.0.0.1';
  const backoffOptions = { ...DEFAULT_RESTART_BACKOFF, ...options.backoff };
  const pollMs = options.adoptedPollMs ?? ADOPTED_POLL_MS;
  const baseEnv = options.baseEnv ?? process.env;
  const supervised = new Map<string, Supervised>();
  let closed = false;

  const keyOf = (app: string, id: string): string => `${app}/${id}`;
  const appDirOf = (app: string): string => join(options.stateDir, app);
  const emit = (event: InstanceEvent): void => {
    try {
      options.onInstanceEvent?.(event);
    } catch {
      // A listener's bug must not take supervision down with it.
    }
  };

  async function liveRecord(
    record: InstanceRecord | undefined,
  ): Promise<InstanceRecord | undefined> {
    if (record === undefined) return undefined;
    return (await isSameProcessAlive(record.pid, record.startTimeTicks)) ? record : undefined;
  }

  /**
   * The instance's own env: as started while this runtime lives; else its record's references
   * resolved again, refused as the start step refuses them (CUTOVER_ERR_CONFIG_INVALID naming
   * each unreadable one), so it never starts with a var missing.
   */
  async function ownEnvOf(entry: Supervised): Promise<Readonly<Record<string, string>>> {
    if (entry.env !== null) return entry.env;
    return resolveAppEnv(entry.record.envSources, {
      releaseDir: entry.record.dir,
      environment: baseEnv,
    });
  }

  function envOf(record: InstanceRecord, own: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
    return {
      ...baseEnv,
      ...own,
      PORT: String(record.port),
      CUTOVER_APP: record.app,
      CUTOVER_RELEASE: record.release,
      CUTOVER_INSTANCE: record.id,
      ...(record.color === null ? {} : { CUTOVER_COLOR: record.color }),
    };
  }

  /** Spawns the record's command detached and persists the record with the new pid. */
  async function spawnInstance(entry: Supervised): Promise<void> {
    const spawning = spawnDetached(entry);
    entry.spawning = spawning;
    try {
      await spawning;
    } finally {
      if (entry.spawning === spawning) entry.spawning = null;
    }
  }

  async function spawnDetached(entry: Supervised): Promise<void> {
    const base = entry.record;
    const own = await ownEnvOf(entry);
    const log = await open(base.logPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      // detached: setsid(2), so the instance leads its own group and session and survives the
      // daemon; output goes to the log file, never to pipes the daemon would have to drain.
      // The shell first waits for a line on stdin, written once the instance's record is on
      // disk: a daemon killed in between closes the pipe, the shell reads end-of-file and exits
      // before the app starts, so no instance ever runs without a record a new daemon can find.
      child = spawn('/bin/sh', ['-c', `${START_GATE}\n${base.command}`], {
        cwd: base.dir,
        env: envOf(base, own),
        detached: true,
        stdio: ['pipe', log.fd, log.fd],
      });
      // The shell may be gone before the line is written (killed, or a failed spawn): EPIPE.
      child.stdin?.on('error', () => undefined);
      // Owned at once: an instant exit must reach onExit as this run's crash.
      entry.child = child;
      child.on('exit', (code, signal) => {
        onExit(entry, child, code, signal);
      });
      const [event] = (await Promise.race([once(child, 'spawn'), once(child, 'error')])) as [
        unknown,
      ];
      if (event instanceof Error) {
        entry.child = null;
        throw event;
      }
    } finally {
      await log.close();
    }
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`No pid for ${base.id}.`);
    const procStat = await readProcessStat(pid);
    entry.startedAtMs = Date.now();
    entry.record = {
      ...base,
      pid,
      pgid: pid,
      startTimeTicks: procStat?.startTimeTicks ?? '',
      startedAt: new Date(entry.startedAtMs).toISOString(),
    };
    try {
      await writeInstanceRecord(appDirOf(base.app), entry.record);
    } catch (error) {
      // Unrecorded, a new daemon could never find it: do not leave it running.
      entry.child = null;
      signalGroup(pid, 'SIGKILL');
      throw error;
    }
    // Recorded: the app may start. Its stdin then reads end-of-file, as /dev/null would.
    child.stdin?.end(`${START_GATE_LINE}\n`);
  }

  function onExit(
    entry: Supervised,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (entry.child !== child) return;
    entry.child = null;
    crashed(entry, code, signal);
  }

  function crashed(
    entry: Supervised,
    code: number | null,
    signal: string | null,
    groupJustDied = true,
  ): void {
    if (closed || entry.state !== 'running') return;
    const { record } = entry;
    // Children the crashed process left behind in its group would hold its port. Only right
    // after the leader died: later, its number may lead a stranger's group.
    if (groupJustDied) signalGroup(record.pgid, 'SIGKILL');
    const verdict = entry.backoff.crashed(entry.startedAtMs, Date.now());
    emit({
      type: 'InstanceCrashed',
      app: record.app,
      id: record.id,
      pid: record.pid,
      exitCode: code,
      signal,
      restartInMs: verdict.restartInMs,
    });
    if (verdict.crashLoopStarted) {
      emit({
        type: 'InstanceCrashLooping',
        app: record.app,
        id: record.id,
        crashes: verdict.recentCrashes,
      });
    }
    scheduleRestart(entry, verdict.restartInMs);
  }

  function scheduleRestart(entry: Supervised, delayMs: number): void {
    entry.state = 'restarting';
    clearTimer(entry);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      void restart(entry).catch(() => undefined);
    }, delayMs);
    entry.timer.unref();
  }

  async function restart(entry: Supervised): Promise<void> {
    if (closed || entry.state !== 'restarting') return;
    try {
      // Set before spawning: an instant exit must count as a crash of this run.
      entry.state = 'running';
      await spawnInstance(entry);
    } catch (error) {
      // A stop or close that began meanwhile owns the instance now.
      if (closed || entry.state !== 'running') return;
      const { record } = entry;
      emit({
        type: 'InstanceRestartFailed',
        app: record.app,
        id: record.id,
        reason: reasonOf(error),
      });
      crashed(entry, null, null, false);
      return;
    }
    // A stop may have begun while spawning; it then stops the new process itself.
    if (entry.state === 'running') {
      emit({
        type: 'InstanceRestarted',
        app: entry.record.app,
        id: entry.record.id,
        pid: entry.record.pid,
      });
    }
  }

  function clearTimer(entry: Supervised): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
  }

  /** A running instance known only from its record: adopted, or about to be stopped. */
  function runningFromRecord(record: Supervised['record']): Supervised {
    return {
      record,
      env: null,
      child: null,
      startedAtMs: Date.parse(record.startedAt),
      state: 'running',
      timer: null,
      backoff: createRestartBackoff(backoffOptions),
      stopping: null,
      spawning: null,
    };
  }

  /** Polls an adopted instance: it is not our child, so no exit event tells of its death. */
  function watchAdopted(entry: Supervised): void {
    clearTimer(entry);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      void (async () => {
        if (closed || entry.state !== 'running' || entry.child !== null) return;
        const alive = await isSameProcessAlive(entry.record.pid, entry.record.startTimeTicks);
        if (closed || entry.state !== 'running' || entry.child !== null) return;
        if (alive) watchAdopted(entry);
        else crashed(entry, null, null);
      })().catch(() => undefined);
    }, pollMs);
    entry.timer.unref();
  }

  async function stopProcess(record: InstanceRecord, isOurs: boolean): Promise<boolean> {
    // Signal only the process we recorded: a pid reused by a stranger is left alone.
    const stat = await readProcessStat(record.pid);
    const leaderIsOurs = isOurs || (stat !== null && stat.startTimeTicks === record.startTimeTicks);
    if (stat !== null && !leaderIsOurs) return false;
    if (!signalGroup(record.pgid, record.stopSignal)) return false;
    if (await waitForGroupExit(record.pgid, record.stopTimeoutMs)) return false;
    signalGroup(record.pgid, 'SIGKILL');
    if (!(await waitForGroupExit(record.pgid, KILL_WAIT_MS))) {
      throw new CutoverError(
        'CUTOVER_ERR_INTERNAL',
        `Instance ${record.id} (process group ${record.pgid}) survived SIGKILL for ${KILL_WAIT_MS} ms.`,
        { id: record.id, pgid: record.pgid },
      );
    }
    return true;
  }

  async function stopOne(app: string, id: string): Promise<void> {
    const key = keyOf(app, id);
    let entry = supervised.get(key);
    if (entry === undefined) {
      // Not supervised (not adopted yet): stop it from its record, if it has one.
      const { records } = await readInstanceRecords(appDirOf(app));
      const record = records.find((r) => r.id === id);
      if (record === undefined) return;
      // Another stop of it may have begun while the records were read.
      entry = supervised.get(key) ?? runningFromRecord(record);
      supervised.set(key, entry);
    }
    if (entry.stopping !== null) return entry.stopping;
    const current = entry;
    current.state = 'stopping';
    clearTimer(current);
    current.stopping = (async () => {
      try {
        await current.spawning?.catch(() => undefined);
        const killed = await stopProcess(current.record, current.child !== null);
        await removeInstanceRecord(appDirOf(app), id);
        emit({ type: 'InstanceStopped', app, id, killed });
      } finally {
        if (supervised.get(key) === current) supervised.delete(key);
      }
    })();
    return current.stopping;
  }

  return {
    kind: 'process',

    async start(request: StartRequest): Promise<readonly InstanceSpec[]> {
      if (closed) throw new CutoverError('CUTOVER_ERR_INTERNAL', 'The process runtime is closed.');
      const { app, release } = request;
      const spec = await validateStartSpec(app, request.process);
      const color: Color | null = request.color ?? null;
      const prefix = color === null ? app : `${app}-${color}`;
      const first = firstIndexOf(request);
      const ids = Array.from({ length: spec.instances }, (_, i) => `${prefix}-${first + i}`);
      const { records } = await readInstanceRecords(appDirOf(app));
      for (const id of ids) {
        // A supervised instance counts even between a crash and its restart.
        const running =
          supervised.get(keyOf(app, id))?.record ??
          (await liveRecord(records.find((r) => r.id === id)));
        if (running !== undefined) {
          throw new CutoverError(
            'CUTOVER_ERR_USAGE',
            `Instance ${id} of release ${running.release} still runs (pid ${running.pid}): stop its color before starting ${release} on it.`,
            { field: 'color' },
          );
        }
      }
      const started: InstanceSpec[] = [];
      try {
        for (const id of ids) {
          const port = await findFreePort(host);
          const entry: Supervised = {
            record: {
              version: INSTANCE_RECORD_VERSION,
              app,
              release,
              color,
              id,
              pid: 0,
              pgid: 0,
              port,
              host,
              startTimeTicks: '',
              startedAt: '',
              command: spec.command,
              // Absolute: a later daemon restarting it may run from another directory.
              dir: resolve(spec.dir),
              // References, never a secret's value: the values stay in memory (entry.env).
              envSources: envSourcesOf(spec),
              stopSignal: spec.stopSignal ?? DEFAULT_STOP_SIGNAL,
              stopTimeoutMs: spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
              logPath: join(appDirOf(app), `${id}.log`),
            },
            env: { ...spec.env },
            child: null,
            startedAtMs: 0,
            state: 'running',
            timer: null,
            backoff: createRestartBackoff(backoffOptions),
            stopping: null,
            spawning: null,
          };
          await mkdir(appDirOf(app), { recursive: true, mode: 0o700 });
          supervised.set(keyOf(app, id), entry);
          try {
            await spawnInstance(entry);
          } catch (error) {
            supervised.delete(keyOf(app, id));
            await removeInstanceRecord(appDirOf(app), id);
            throw error;
          }
          started.push({ id, address: formatAddress(host, port) });
          emit({ type: 'InstanceStarted', app, id, pid: entry.record.pid });
        }
      } catch (error) {
        // Start returns only instances that exist: undo the partial start.
        await Promise.allSettled(started.map((instance) => stopOne(app, instance.id)));
        throw new CutoverError(
          'CUTOVER_ERR_INTERNAL',
          `Could not start release ${release} of ${app}: ${error instanceof Error ? error.message : String(error)}`,
          { app, release },
        );
      }
      return started;
    },

    async stop(app: string, instances: readonly InstanceSpec[]): Promise<void> {
      const results = await Promise.allSettled(instances.map((i) => stopOne(app, i.id)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },

    async adopt(app?: string): Promise<readonly AdoptedInstance[]> {
      const apps =
        app === undefined
          ? await readdir(options.stateDir).catch((error: NodeJS.ErrnoException) => {
              if (error.code === 'ENOENT') return [] as string[];
              throw error;
            })
          : [app];
      const adopted: AdoptedInstance[] = [];
      for (const name of apps.filter((a) => APP_NAME_PATTERN.test(a)).sort()) {
        const { records } = await readInstanceRecords(appDirOf(name));
        for (const record of records) {
          const key = keyOf(name, record.id);
          if (supervised.has(key)) continue;
          if (!(await isSameProcessAlive(record.pid, record.startTimeTicks))) {
            // It died while no daemon watched it; the controller sees it missing.
            await removeInstanceRecord(appDirOf(name), record.id);
            continue;
          }
          const entry = runningFromRecord(record);
          supervised.set(key, entry);
          watchAdopted(entry);
          emit({ type: 'InstanceAdopted', app: name, id: record.id, pid: record.pid });
          adopted.push({
            app: name,
            release: record.release,
            color: record.color,
            instance: { id: record.id, address: formatAddress(record.host, record.port) },
            pid: record.pid,
          });
        }
      }
      return adopted;
    },

    async close(): Promise<void> {
      closed = true;
      const stopping: Promise<void>[] = [];
      for (const entry of supervised.values()) {
        clearTimer(entry);
        if (entry.stopping !== null) stopping.push(entry.stopping);
      }
      supervised.clear();
      await Promise.allSettled(stopping);
    },

    pidOf(app: string, id: string): number | null {
      const entry = supervised.get(keyOf(app, id));
      return entry === undefined || entry.state !== 'running' ? null : entry.record.pid;
    },
  };
}
