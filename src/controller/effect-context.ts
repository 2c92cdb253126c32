// What every effect of the deployment pipeline is given: the runner's dependencies, the
// deployment's state, config and request, and the hooks it reports through. Its own module so
// step modules (schema, drift, strategies) can take it without importing the effect table.
import type { DeploymentReport } from '../client/api-types.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { DeploymentState } from '../core/deployment/deployment-state.ts';
import type { Color } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { MigrationTarget } from '../ports/database.ts';
import type { AdoptedInstance, Runtime } from '../ports/runtime.ts';
import type { StateStore } from '../ports/state-store.ts';
import type { TrafficSwitch } from '../ports/traffic-switch.ts';
import type { DriftService } from '../drift/drift-service.ts';
import type { HealthChecker } from '../probes/health-checker.ts';
import type { PipelineHost } from './pipeline-host.ts';
import type { SchemaRelease } from './schema-steps.ts';

export interface EffectRequest {
  readonly release: string;
  readonly dir: string;
  readonly instances?: readonly string[];
  /** Snapshot keys the deployer accepted to differ this once (`--accept-drift`). */
  readonly acceptDrift?: readonly string[];
  /** The release's cutover.yaml text as deployed, and its path (for messages). */
  readonly config?: string;
  readonly configPath?: string;
}

export interface EffectContext {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly traffic: TrafficSwitch;
  readonly health: HealthChecker;
  readonly host: PipelineHost;
  readonly runtimes: { readonly process: Runtime | null; readonly external: Runtime };
  readonly urls: () => { readonly public: string; readonly preview: string };
  readonly adopted?: () => readonly AdoptedInstance[];
  readonly environment?: NodeJS.ProcessEnv;
  /** The daemon's logger, for work an effect leaves running after it ends. */
  readonly logger?: { warn(details: object, message: string): void };
  readonly state: DeploymentState;
  readonly config: AppConfig;
  readonly request: EffectRequest;
  readonly signal: AbortSignal;
  /**
   * Aborted once `cutover promote` was taken while the deployment shifts (canary steps): the
   * running shift ends its step and the deployment goes on to the flip. Absent: never promoted.
   */
  readonly promote?: AbortSignal;
  /** True for the first effects run after a daemon restart picked the deployment up. */
  readonly resuming: boolean;
  readonly lock: { release(): Promise<void> };
  report(patch: Partial<DeploymentReport>): Promise<void>;
  waiting(text: string | null): void;
  nowIso(): string;
  /** Opens the app's database (the daemon picks the adapter by the URL's dialect). */
  readonly openDatabase?: (url: string) => Promise<MigrationTarget>;
  /** The live release's folder and config, from its deployment; null when none is known. */
  readonly liveRelease?: () => Promise<SchemaRelease | null>;
  /**
   * Snapshots and diffs releases for the drift-check step (issue 5); the daemon gives it to the
   * controller, whose runner passes its dependencies on to every effect. Absent: not checked.
   */
  readonly drift?: DriftService;
  /** Retires the standby after the rollback window, if the app's config says so. */
  scheduleRetire?(app: string, color: Color, release: string, afterMs: number): void;
}
