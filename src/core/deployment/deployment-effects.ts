// What the controller must do after a transition, as data. Each effect carries an idempotency
// key (`<deployment>/<step>/<kind>`): a step runs at most once per deployment, so the key names
// one side effect for the whole run, and a resume re-emits the same key. Effects that are not
// `repeatable` must be reconciled by key before they run again (look the key up in the effect
// journal or on the target: instances tagged with it, the routing table's last flip), so a
// resume after a crash never runs them twice.
// The repeatable ones must be written to be: `acquire-lock` takes the lock with the deployment
// id as holder (taking it again as the same holder succeeds), `release-lock` releases only this
// deployment's lock, `drain` and `stop-instances` of a drained or stopped color do nothing,
// `clear-split` of a color without a share does nothing. `shift` is once-only: it reconciles by
// the state's `shiftIndex` (the steps already passed) and the split stored in the app's state.
import type { Color } from '../types.ts';
import type { RunningStep } from './deployment-state.ts';

export type EffectBody =
  | { readonly kind: 'acquire-lock' }
  | { readonly kind: 'resolve-idle' }
  | { readonly kind: 'check-drift'; readonly color: Color }
  | { readonly kind: 'check-schema'; readonly color: Color }
  | { readonly kind: 'start-instances'; readonly color: Color; readonly release: string }
  | { readonly kind: 'migrate-expand'; readonly release: string }
  | { readonly kind: 'smoke'; readonly color: Color }
  | { readonly kind: 'warm-up'; readonly color: Color }
  /** Canary steps or rolling batches: shares of public traffic on `color`, one step per run. */
  | { readonly kind: 'shift'; readonly color: Color }
  /** All public traffic back on the live color at once (a failed or aborted shift). */
  | { readonly kind: 'clear-split'; readonly color: Color }
  | { readonly kind: 'flip'; readonly to: Color; readonly from: Color | null }
  | { readonly kind: 'verify'; readonly color: Color }
  | { readonly kind: 'flip-back'; readonly to: Color; readonly from: Color }
  | { readonly kind: 'drain'; readonly color: Color }
  | { readonly kind: 'stop-instances'; readonly color: Color }
  | { readonly kind: 'keep-standby'; readonly color: Color }
  /** After a rolling flip the old color keeps no instances: stop what is left and empty it. */
  | { readonly kind: 'retire-color'; readonly color: Color }
  | { readonly kind: 'release-lock' };

export type EffectKind = EffectBody['kind'];

export type Effect = EffectBody & {
  readonly key: string;
  /** Safe to run again after a crash without checking whether it already ran. */
  readonly repeatable: boolean;
};

/**
 * Effects that change something outside the daemon exactly once: starting processes, migrating
 * the database, committing a routing generation. The rest only read, or set a state that is the
 * same however often it is set.
 */
export const ONCE_ONLY_KINDS: readonly EffectKind[] = [
  'start-instances',
  'migrate-expand',
  'shift',
  'flip',
  'flip-back',
];

export function effectOf(deploymentId: string, step: RunningStep, body: EffectBody): Effect {
  return {
    ...body,
    key: `${deploymentId}/${step}/${body.kind}`,
    repeatable: !ONCE_ONLY_KINDS.includes(body.kind),
  };
}
