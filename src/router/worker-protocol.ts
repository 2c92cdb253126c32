// Messages between the traffic switch (main thread) and each router worker thread. A flip is
// two-phase: `prepare` hands every worker the table, `commit` makes each one swap it; the
// switch resolves `apply` only once every worker acknowledged the commit.
import type { RoutingTable } from '../core/routing-table.ts';
import type { Address, Color } from '../core/types.ts';
import type { DrainOptions, DrainReport } from '../ports/traffic-switch.ts';
import type { RouterHostOptions } from './router-host.ts';
import type { AppTraffic } from './router.ts';

export interface WorkerData {
  readonly host: RouterHostOptions;
}

export type WorkerRequest =
  | { readonly id: number; readonly type: 'prepare'; readonly table: RoutingTable }
  | { readonly id: number; readonly type: 'commit'; readonly generation: number }
  | {
      readonly id: number;
      readonly type: 'drain';
      readonly app: string;
      readonly color: Color;
      readonly options: DrainOptions;
    }
  | { readonly id: number; readonly type: 'health'; readonly health: ReadonlyMap<Address, boolean> }
  | { readonly id: number; readonly type: 'describe' }
  | { readonly id: number; readonly type: 'close'; readonly deadlineMs: number };

export type WorkerReply =
  | {
      readonly type: 'ready';
      readonly public: { host: string; port: number };
      readonly preview: { host: string; port: number };
    }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly id: number; readonly type: 'ack'; readonly generation: number }
  | { readonly id: number; readonly type: 'drained'; readonly report: DrainReport }
  | {
      readonly id: number;
      readonly type: 'traffic';
      readonly generation: number;
      readonly apps: AppTraffic;
    }
  | { readonly id: number; readonly type: 'error'; readonly message: string };
