import type { Address, Color, InstanceSpec } from '../core/types.ts';

export interface StartRequest {
  readonly app: string;
  readonly release: string;
  /** The color the instances are for; it names them (`shop-blue-1`). */
  readonly color?: Color;
  /** For the external runtime: the addresses where the release already runs. */
  readonly addresses?: readonly Address[];
}

/**
 * What starts and stops instances. The external runtime only adopts addresses that already
 * run; the process runtime (issue 3) starts detached processes.
 *
 * Lifecycle: one per daemon. Invariants: `start` returns only instances that exist; `stop` is
 * idempotent and is called only after the instances' color is drained.
 */
export interface Runtime {
  readonly kind: 'external' | 'process';
  start(request: StartRequest): Promise<readonly InstanceSpec[]>;
  stop(app: string, instances: readonly InstanceSpec[]): Promise<void>;
}
