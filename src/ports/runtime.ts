import type { EnvValue } from '../core/app-config.ts';
import type { Address, Color, InstanceSpec } from '../core/types.ts';

/** How the process runtime starts a release (issue 3): `cutover.yaml`'s `process` keys. */
export interface ProcessStartSpec {
  /** The release's directory: the working directory of every instance. */
  readonly dir: string;
  /** Run through `/bin/sh -c`; the instance's port is in `PORT`. */
  readonly command: string;
  readonly instances: number;
  /** Added to the daemon's environment (and overriding it); `PORT` is always set by cutover. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Where each `env` entry came from: a literal as it is, a secret as its reference
   * (`fromEnv` names a var of the daemon's environment; `fromFile` is an absolute path, a
   * relative one is taken against `dir`). The process runtime stores these in its instance
   * records instead of `env`'s values, so no secret is written at rest, and resolves them again
   * when a later daemon restarts an instance it adopted. An `env` entry not named here is
   * stored as its value.
   */
  readonly envSources?: Readonly<Record<string, EnvValue>>;
  /** Sent to the instance's process group on stop (default `SIGTERM`). */
  readonly stopSignal?: NodeJS.Signals;
  /** How long stop waits after the signal before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
}

export interface StartRequest {
  readonly app: string;
  readonly release: string;
  /** The color the instances are for; it names them (`shop-blue-1`). */
  readonly color?: Color;
  /** For the external runtime: the addresses where the release already runs. */
  readonly addresses?: readonly Address[];
  /** For the process runtime: what to run and how many. */
  readonly process?: ProcessStartSpec;
  /**
   * The number in the first instance's name (default 1: `shop-blue-1`, `shop-blue-2`, ...). A
   * rolling deployment starts a color's instances a batch at a time, each batch after the last.
   */
  readonly firstIndex?: number;
}

/** An instance found running by `adopt`, started by this or an earlier daemon. */
export interface AdoptedInstance {
  readonly app: string;
  readonly release: string;
  readonly color: Color | null;
  readonly instance: InstanceSpec;
  readonly pid: number;
}

/** What happened to an instance; reported through the runtime's `onInstanceEvent`. */
export type InstanceEvent =
  | {
      readonly type: 'InstanceStarted';
      readonly app: string;
      readonly id: string;
      readonly pid: number;
    }
  | {
      readonly type: 'InstanceAdopted';
      readonly app: string;
      readonly id: string;
      readonly pid: number;
    }
  | {
      readonly type: 'InstanceCrashed';
      readonly app: string;
      readonly id: string;
      readonly pid: number;
      /** The exit code, or null when a signal ended it or it died while the daemon was away. */
      readonly exitCode: number | null;
      readonly signal: string | null;
      /** When the restart is attempted. */
      readonly restartInMs: number;
    }
  | {
      readonly type: 'InstanceRestarted';
      readonly app: string;
      readonly id: string;
      readonly pid: number;
    }
  | {
      readonly type: 'InstanceCrashLooping';
      readonly app: string;
      readonly id: string;
      /** Crashes inside the crash-loop window, this one included. */
      readonly crashes: number;
    }
  | {
      readonly type: 'InstanceRestartFailed';
      readonly app: string;
      readonly id: string;
      readonly reason: string;
    }
  | {
      readonly type: 'InstanceStopped';
      readonly app: string;
      readonly id: string;
      readonly killed: boolean;
    };

/**
 * What starts and stops instances. The external runtime only adopts addresses that already
 * run; the process runtime (issue 3) starts detached processes.
 *
 * Lifecycle: one per daemon. Invariants: `start` returns only instances that exist; `stop` is
 * idempotent and is called only after the instances' color is drained.
 *
 * The process runtime also implements `adopt` and `close`. Its instances outlive the daemon
 * (own process group, stdio to files), so a new daemon calls `adopt` once at startup: it returns
 * the instances still running (same pid and same kernel start time as recorded) and supervises
 * them again; records of dead ones are dropped. `close` ends supervision (timers, crash
 * restarts) without stopping any instance: call it when the daemon shuts down. A crashed
 * instance (exit while not being stopped) is restarted on the same port with capped
 * exponential backoff and reported, as is a crash loop.
 */
export interface Runtime {
  readonly kind: 'external' | 'process';
  start(request: StartRequest): Promise<readonly InstanceSpec[]>;
  stop(app: string, instances: readonly InstanceSpec[]): Promise<void>;
  /** Instances still running from an earlier daemon, supervised from now on. */
  adopt?(app?: string): Promise<readonly AdoptedInstance[]>;
  /** Ends supervision; the instances keep running. */
  close?(): Promise<void>;
}
