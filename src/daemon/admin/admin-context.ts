// What the admin routes need from the rest of the daemon: the controller's API
// (src/controller/controller.ts), the traffic snapshot for /metrics, and the audit log. Routes
// stay thin.
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
  AbortRequest,
  DeploymentListResponse,
  DeploymentView,
  DrillReport,
  DrillRequest,
  DriftResponse,
  StartDeploymentRequest,
  DeployRequest,
  DeployResponse,
  FlipRequest,
  FlipResponse,
  HealthResponse,
  HistoryResponse,
  RollbackRequest,
  StatusResponse,
} from '../../client/api-types.ts';
import type { TrafficSnapshot } from '../../ports/traffic-switch.ts';
import type { AdminMetrics } from './admin-metrics.ts';
import type { StoredHistoryEvent } from '../../ports/state-store.ts';

export interface MutationOptions {
  readonly ifMatch?: number;
  /** Who asked, for the audit log and the lock holder. */
  readonly actor: string;
}

/** The controller as the admin API sees it (the daemon injects the real Controller). */
export interface AdminController {
  /** `traffic`: a snapshot just read by the caller, used instead of asking the workers again. */
  status(app?: string, traffic?: TrafficSnapshot): Promise<StatusResponse>;
  deploy(app: string, req: DeployRequest, opts: MutationOptions): Promise<DeployResponse>;
  flip(app: string, req: FlipRequest, opts: MutationOptions): Promise<FlipResponse>;
  rollback(app: string, req: RollbackRequest, opts: MutationOptions): Promise<FlipResponse>;
  history(query: { app?: string; limit?: number }): Promise<HistoryResponse>;
  /** Validates the config, takes the app's lock and starts the pipeline; resolves once started. */
  startDeployment(
    app: string,
    req: StartDeploymentRequest,
    opts: MutationOptions,
  ): Promise<DeploymentView>;
  getDeployment(id: string): Promise<DeploymentView>;
  listDeployments(query: { app?: string; limit?: number }): Promise<DeploymentListResponse>;
  abortDeployment(id: string, req: AbortRequest, opts: MutationOptions): Promise<DeploymentView>;
  /** Aborts the app's running deployment (CUTOVER_ERR_DEPLOY_NOT_FOUND when none runs). */
  abortApp(app: string, req: AbortRequest, opts: MutationOptions): Promise<DeploymentView>;
  /**
   * `cutover promote` (issue 5): the app's canary skips its remaining steps to the flip
   * (CUTOVER_ERR_DEPLOY_NOT_SHIFTING unless a deployment of the app is shifting).
   */
  promoteApp?(app: string, opts: MutationOptions): Promise<DeploymentView>;
  drill(app: string, req: DrillRequest, opts: MutationOptions): Promise<DrillReport>;
  migrationsPlan(app: string, req: MigrationsPlanRequest): Promise<MigrationsPlanResponse>;
  migrationsStatus(app: string): Promise<MigrationsPlanResponse>;
  migrationsContract(app: string, opts: MutationOptions): Promise<MigrationsContractResponse>;
  /** The drift report between the app's colors (issue 5); absent: this daemon has none. */
  drift?(app: string): Promise<DriftResponse>;
  readonly revision: number;
}

/** One audit line: every mutation, whatever its outcome (QUALITY.md D5). Never a secret. */
export interface AuditEntry {
  readonly app: string;
  readonly actor: string;
  readonly route: string;
  readonly status: number;
  /** `ok` or the error code. */
  readonly outcome: string;
  readonly durationMs: number;
}

/** Where an event stream writes; `signal` aborts when the client leaves or the daemon stops. */
export interface EventSink {
  send(event: StoredHistoryEvent): void;
  readonly signal: AbortSignal;
}

export interface AdminContext {
  readonly controller: AdminController;
  readonly describeTraffic: () => Promise<TrafficSnapshot>;
  readonly audit: (entry: AuditEntry) => Promise<void>;
  readonly metrics: AdminMetrics;
  readonly health: () => HealthResponse;
  /** Streams the history timeline (optionally one app, after an id) until the sink aborts. */
  readonly followHistory: (
    query: { readonly app?: string; readonly afterId?: number },
    sink: EventSink,
  ) => Promise<void>;
}
