// What the deployment runner and the drill need from the controller: the routed state and the
// few changes they make to it, each persisted before it is applied (the controller's rules).
import type { DrainSummary, FlipResponse } from '../client/api-types.ts';
import type {
  AppState,
  Color,
  HealthCheckSpec,
  InstanceSpec,
  TrafficMirror,
  TrafficSplit,
} from '../core/types.ts';

export interface PlacedRelease {
  readonly id: string;
  readonly instances: readonly InstanceSpec[];
  readonly health: HealthCheckSpec;
}

export interface PipelineHost {
  /** The app as stored now; undefined before its first deployment placed anything. */
  appState(app: string): AppState | undefined;
  /** Puts the release into `color` (never the live one) and routes the preview listener to it. */
  place(app: string, color: Color, release: PlacedRelease, hosts: readonly string[]): Promise<void>;
  /** Empties `color` (its instances are already stopped); an app left with nothing is removed. */
  clearColor(app: string, color: Color): Promise<void>;
  /** The atomic flip, persisted then applied; does not drain (the caller decides when). */
  flip(
    app: string,
    to: Color,
    kind: 'deploy' | 'flip' | 'rollback',
    actor: string,
    startedMs: number,
  ): Promise<FlipResponse>;
  /** Lets the color's in-flight work finish (DESIGN.md drain), recorded in the history. */
  drain(
    app: string,
    color: Color,
    actor: string,
    options?: { readonly timeoutMs: number; readonly websocketGraceMs: number },
  ): Promise<DrainSummary>;
  /**
   * Sends a share of the app's public traffic to the idle color (canary steps, rolling
   * batches), persisted then applied like a flip; null puts all of it back on the live color
   * at once. Refused when `split.color` is the live color or holds no release.
   */
  setSplit(app: string, split: TrafficSplit | null): Promise<void>;
  /** Starts (or with null stops) mirroring live requests to the idle color. */
  setMirror(app: string, mirror: TrafficMirror | null): Promise<void>;
  /**
   * Replaces the instance list of the release in `color`, live or not (rolling replaces
   * instances in place): persisted then applied, so requests stop picking a removed instance
   * at once; its in-flight requests finish on their connections. The release must be there.
   */
  setInstances(app: string, color: Color, instances: readonly InstanceSpec[]): Promise<void>;
  /** Instances that just rose are up for the router, whatever it heard before. */
  markUp(addresses: readonly string[]): void;
  record(app: string, type: string, data: Record<string, unknown>): Promise<void>;
}
