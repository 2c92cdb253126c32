// Flips that deployments make (the pipeline's flip and its flip back) for `cutover_flips_total`:
// they do not pass through the admin routes that count manual flips, rollbacks and drills, so
// the daemon counts them from the history entries the controller writes for every flip.
import type { StoredHistoryEvent } from '../ports/state-store.ts';

export interface CountedFlip {
  readonly app: string;
  readonly kind: 'deploy' | 'rollback';
  readonly durationMs: number;
}

/** The deployment flip an entry records, or null for anything else (manual flips included). */
export function deploymentFlipOf(event: StoredHistoryEvent): CountedFlip | null {
  if (event.type !== 'flipped' && event.type !== 'rolled-back') return null;
  const { actor, kind, durationMs } = event.data;
  if (typeof actor !== 'string' || !actor.startsWith('deployment ')) return null;
  if (kind !== 'deploy' && kind !== 'rollback') return null;
  return {
    app: event.app,
    kind,
    durationMs: typeof durationMs === 'number' && durationMs >= 0 ? durationMs : 0,
  };
}
