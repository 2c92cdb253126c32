// Follows a deployment the daemon runs: polls it until it ends. A daemon restart mid-deployment
// is expected (the deployment resumes there), so an unreachable daemon is retried for a while.
// Stopping the follower (Ctrl-C) never stops the deployment.
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DeploymentView } from '../client/api-types.ts';
import { isCutoverError } from '../core/errors.ts';
import type { CutoverError } from '../core/errors.ts';

export const POLL_INTERVAL_MS = 200;
/** Long enough for a daemon restart (it re-adopts the instances and resumes the deployment). */
export const UNREACHABLE_GRACE_MS = 30_000;

export interface FollowOptions {
  readonly id: string;
  readonly getDeployment: (id: string) => Promise<DeploymentView>;
  readonly onView: (view: DeploymentView) => void;
  /** Called once per run of failed polls, on its first failure. */
  readonly onUnreachable: (error: CutoverError) => void;
  readonly signal?: AbortSignal;
  readonly intervalMs?: number;
  readonly unreachableGraceMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type FollowResult =
  | { readonly kind: 'ended'; readonly view: DeploymentView }
  | { readonly kind: 'interrupted'; readonly view: DeploymentView | null };

export async function followDeployment(options: FollowOptions): Promise<FollowResult> {
  const intervalMs = options.intervalMs ?? POLL_INTERVAL_MS;
  const graceMs = options.unreachableGraceMs ?? UNREACHABLE_GRACE_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const signal = options.signal;
  let last: DeploymentView | null = null;
  let unreachableSince: number | null = null;
  for (;;) {
    if (signal?.aborted === true) return { kind: 'interrupted', view: last };
    let view: DeploymentView | 'interrupted';
    try {
      view = await untilAborted(options.getDeployment(options.id), signal);
    } catch (error) {
      if (!isCutoverError(error) || error.code !== 'CUTOVER_ERR_DAEMON_UNREACHABLE') throw error;
      if (unreachableSince === null) {
        unreachableSince = now();
        options.onUnreachable(error);
      } else if (now() - unreachableSince >= graceMs) {
        throw error;
      }
      await sleep(intervalMs, signal);
      continue;
    }
    if (view === 'interrupted') return { kind: 'interrupted', view: last };
    unreachableSince = null;
    last = view;
    options.onView(view);
    if (view.ended) return { kind: 'ended', view };
    await sleep(intervalMs, signal);
  }
}

/** Resolves early with 'interrupted' when the signal fires; the call itself is left to finish. */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | 'interrupted'> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.resolve('interrupted');
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve('interrupted');
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, signal === undefined ? {} : { signal });
  } catch (error) {
    // An abort ends the wait early; the loop sees the signal and stops.
    if (!(error instanceof Error && error.name === 'AbortError')) throw error;
  }
}
