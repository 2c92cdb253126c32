// The admin API contract (JSON over HTTP on the Unix socket, or loopback TCP with a bearer token).
// Shared by the daemon's routes, the client, the CLI and the dashboard. Keep it stable.
//
// Routes (all under /v1; errors are `ErrorBody` from core/errors.ts):
//   GET  /v1/health                      -> HealthResponse
//   GET  /v1/status                      -> StatusResponse            (ETag: "<revision>")
//   GET  /v1/apps/:app                   -> AppStatus                 (ETag: "<revision>")
//   POST /v1/apps/:app/deploy            DeployRequest   -> DeployResponse
//   POST /v1/apps/:app/flip              FlipRequest     -> FlipResponse
//   POST /v1/apps/:app/rollback          RollbackRequest -> FlipResponse
//   GET  /v1/history?app=&limit=         -> HistoryResponse
//   GET  /v1/events?app=                 text/event-stream: one HistoryEntry per event as it is
//                                        appended (`id:` its id, `event:` its type); a
//                                        `Last-Event-ID` header replays what came after it
//   GET  /metrics                        Prometheus text
//   (deployments and drills: see the section at the end of this file)
// Mutations: Content-Type application/json (415 otherwise); optional If-Match: "<revision>"
// (412 CUTOVER_ERR_STATE_CONFLICT when stale); 409 CUTOVER_ERR_APP_LOCKED names the holder.
import type {
  Color,
  FlipRecord,
  HealthCheckSpec,
  TrafficMirror,
  TrafficSplit,
} from '../core/types.ts';

export const API_PREFIX = '/v1';

export interface HealthResponse {
  readonly ok: true;
  readonly version: string;
  readonly pid: number;
  readonly public: string;
  readonly preview: string;
}

export interface InstanceStatus {
  readonly id: string;
  readonly address: string;
  readonly healthy: boolean;
}

export interface ColorStatus {
  readonly color: Color;
  readonly role: 'live' | 'standby' | 'idle';
  readonly release: string | null;
  readonly instances: readonly InstanceStatus[];
  readonly inflight: number;
  readonly websockets: number;
  readonly requests: number;
  /** Responses the router generated as 5xx for this color (no answer from an instance). */
  readonly failed: number;
  /** Responses this color's instances answered with a 5xx status. */
  readonly serverErrors: number;
  /** Mirrored copies of live requests sent to this color (absent: the router does not mirror). */
  readonly mirrored?: number;
  /** Copies not sent: over the mirror's rate, body or in-flight bounds. */
  readonly mirrorDropped?: number;
  /** DNS switching: requests that reached this color's own address while it was not live. */
  readonly stragglers?: number;
}

export interface AppStatus {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly live: Color | null;
  readonly standby: Color | null;
  readonly colors: Readonly<Record<Color, ColorStatus>>;
  readonly flips: readonly FlipRecord[];
  /** The stored traffic share on the idle color (canary, rolling); absent: all on live. */
  readonly split?: TrafficSplit;
  /** The stored mirroring of live requests to the idle color; absent: none. */
  readonly mirror?: TrafficMirror;
  /** The running deployment, else the last one; absent when the app was never deployed by the pipeline. */
  readonly deployment?: DeploymentSummary | null;
}

/** A deployment in one line, for status. */
export interface DeploymentSummary {
  readonly id: string;
  readonly release: string;
  readonly step: DeploymentStepName | DeploymentOutcome;
  readonly ended: boolean;
  readonly reason: string | null;
  readonly waitingFor: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface StatusResponse {
  readonly revision: number;
  readonly generation: number;
  readonly apps: readonly AppStatus[];
}

export interface DeployRequest {
  readonly release: string;
  /** `host:port` of each instance (external runtime). */
  readonly instances: readonly string[];
  /** Host names routed to the app; omitted keeps the app's current hosts (catch-all if new). */
  readonly hosts?: readonly string[];
  readonly health?: Partial<HealthCheckSpec>;
  /** How long to wait for every instance to pass its health check. */
  readonly healthTimeoutMs?: number;
}

export interface DrainSummary {
  readonly completed: number;
  readonly aborted: number;
  readonly websocketsClosed: number;
  readonly durationMs: number;
  readonly cancelled: boolean;
}

export interface FlipResponse {
  readonly app: string;
  readonly from: Color | null;
  readonly to: Color;
  readonly release: string;
  readonly generation: number;
  /** Milliseconds from receiving the command to the routing change committed on every worker. */
  readonly durationMs: number;
  /** Present when the request asked to wait for the drain. */
  readonly drain?: DrainSummary;
}

export interface DeployResponse {
  readonly app: string;
  readonly release: string;
  readonly color: Color;
  readonly healthMs: number;
  readonly flip: FlipResponse;
}

export interface FlipRequest {
  readonly to?: Color;
  readonly waitDrain?: boolean;
}

export interface RollbackRequest {
  readonly waitDrain?: boolean;
}

export interface HistoryEntry {
  readonly id: number;
  readonly app: string;
  readonly type: string;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface HistoryResponse {
  readonly events: readonly HistoryEntry[];
}

// ---------------------------------------------------------------------------------------------
// Deployments (issue 3): the pipeline of DESIGN.md, run by the daemon. The CLI reads the
// release's cutover.yaml, sends its text, then follows the deployment by polling it.
//
//   POST /v1/apps/:app/deployments      StartDeploymentRequest -> DeploymentView (202 Accepted;
//                                        409 CUTOVER_ERR_APP_LOCKED names the running one)
//   GET  /v1/deployments?app=&limit=    -> DeploymentListResponse (newest first)
//   GET  /v1/deployments/:id            -> DeploymentView
//   POST /v1/deployments/:id/abort      AbortRequest -> DeploymentView (the deployment as it is
//                                        once the abort was taken; it then ends on its own)
//   POST /v1/apps/:app/abort            AbortRequest -> DeploymentView (the app's running one;
//                                        404 CUTOVER_ERR_DEPLOY_NOT_FOUND when none runs)
//   POST /v1/apps/:app/promote          {} -> DeploymentView (the app's canary skips its remaining
//                                        steps to the flip; 409 CUTOVER_ERR_DEPLOY_NOT_SHIFTING
//                                        unless a deployment of the app is shifting)
//   POST /v1/apps/:app/drill            DrillRequest -> DrillReport (waits for the whole drill)
// The timeline is also appended to the history (type `deployment-step`, `deployment-ended`,
// `drill`), so GET /v1/events streams it.
// ---------------------------------------------------------------------------------------------

export interface StartDeploymentRequest {
  readonly release: string;
  /** The release's directory, absolute, on the daemon's host. */
  readonly dir: string;
  /** The text of the release's cutover.yaml: the config travels with the release. */
  readonly config: string;
  /** Where the text came from, for error messages (default `cutover.yaml`). */
  readonly configPath?: string;
  /** `host:port` of each instance, for `runtime: external` only. */
  readonly instances?: readonly string[];
  /** Overrides the config's `strategy` for this deployment. */
  readonly strategy?: 'bluegreen' | 'canary' | 'rolling';
  /** Drift snapshot keys (or globs) allowed to differ this once. */
  readonly acceptDrift?: readonly string[];
  /** Mirror live requests to the idle color from warm-up until the flip. */
  readonly mirror?: boolean;
}

export type DeploymentStepName =
  | 'locking'
  | 'resolving'
  | 'drift-check'
  | 'schema-check'
  | 'starting'
  | 'migrating'
  | 'smoke'
  | 'warmup'
  | 'shifting'
  | 'flipping'
  | 'verifying'
  | 'draining'
  | 'standby'
  | 'rolling-back'
  | 'cleaning-up';

export type DeploymentOutcome = 'succeeded' | 'failed' | 'aborted' | 'rolled-back';

export interface DeploymentStepView {
  readonly step: DeploymentStepName | DeploymentOutcome;
  readonly startedAt: string;
  /** Null while the step runs. */
  readonly endedAt: string | null;
  readonly durationMs: number | null;
}

export interface SmokeCheckView {
  readonly name: string;
  readonly outcome: 'passed' | 'failed';
  readonly reason: string | null;
  readonly durationMs: number;
  readonly output: string | null;
}

export interface ProbeView {
  readonly at: string;
  readonly path: string;
  readonly status: number | null;
  readonly ms: number;
  readonly ok: boolean;
  readonly error: string | null;
}

/** What each step measured; a key appears once its step has run. */
export interface DeploymentReport {
  readonly start?: {
    readonly instances: readonly { readonly id: string; readonly address: string }[];
    /** From the start request to every instance passing its health check. */
    readonly healthyMs: number;
    /** Retiring the release the idle color held (the old standby) before the start. */
    readonly retireMs?: number;
  };
  readonly smoke?: {
    readonly passed: boolean;
    readonly durationMs: number;
    readonly checks: readonly SmokeCheckView[];
  };
  readonly warmup?: {
    readonly sent: number;
    readonly ok: number;
    readonly failed: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly durationMs: number;
  };
  readonly flip?: { readonly generation: number; readonly durationMs: number };
  readonly verify?: {
    readonly ok: boolean;
    readonly reason: string | null;
    readonly durationMs: number;
    readonly probes: number;
    readonly failedProbes: number;
    /** The last probes (at most 50), oldest first. */
    readonly timeline: readonly ProbeView[];
  };
  readonly flipBack?: { readonly generation: number; readonly durationMs: number };
  readonly drain?: DrainSummary;
  /** The schema check (issue 4): pending migrations, lint findings, the shadow check. */
  readonly schema?: SchemaReport;
  /** The expand migrations applied to the real database. */
  readonly migrate?: { readonly applied: readonly string[]; readonly durationMs: number };
  /** A rolling deployment's batches (issue 5), and the way back after a failed one. */
  readonly rolling?: RollingReport;
  /** The drift check (issue 5): the new release's snapshot diffed against the live one. */
  readonly drift?: DriftCheckReport;
  /** The canary steps (issue 5), in order: what each measured and its verdict. */
  readonly canary?: { readonly steps: readonly CanaryStepReport[] };
  /** `cutover promote` (issue 5): who skipped the remaining shift steps to the flip, and when. */
  readonly promoted?: { readonly by: string; readonly at: string; readonly shiftIndex: number };
}

/** One color's counts in one canary step, from the router's own counters. */
export interface CanaryColorFigures {
  readonly requests: number;
  /** The router's 5xx plus the instances' 5xx. */
  readonly errors: number;
  /** errors / requests (0..1); 0 without requests. */
  readonly errorRate: number;
  /** Time to the response head, estimated from the latency buckets; null when not counted. */
  readonly p99Ms: number | null;
}

export interface CanaryStepReport {
  /** From 0: the config's `canary.steps[index]`. */
  readonly index: number;
  readonly percent: number;
  readonly verdict: 'passed' | 'failed' | 'promoted';
  /** Why it failed, with the numbers; null when it passed. */
  readonly reason: string | null;
  readonly durationMs: number;
  readonly canary: CanaryColorFigures;
  readonly live: CanaryColorFigures;
  /** `canary.checks` run at the end of the step through the preview listener. */
  readonly checks: readonly SmokeCheckView[];
}

/** Where a drift snapshot comes from: a release, the color holding it, when it was taken. */
export interface DriftSide {
  readonly release: string;
  /** Null for a release not placed in a color yet (the new release at the drift check). */
  readonly color: Color | null;
  /** ISO-8601. */
  readonly takenAt: string;
}

/** One snapshot key that differs (issue 5). Secret values are never shown: `secret` says so. */
export interface DriftDifference {
  /** `env.PAYMENTS_URL`, `runtime.version`, `files.package-lock.json`, `config.instances`, ... */
  readonly key: string;
  readonly change: 'added' | 'removed' | 'changed';
  /** The value on the `from` side; null when the key is absent there or holds a secret. */
  readonly from: string | null;
  readonly to: string | null;
  /** Which sides hold a secret (kept only as a salted hash): `secret changed`. */
  readonly secret: { readonly from: boolean; readonly to: boolean };
  /** Why the difference passes; null: it is drift. */
  readonly expected: {
    /**
     * `release`: the release id; `deployment-setting`: a cutover.yaml key that says how cutover
     * deploys the release (health, smoke, switch, canary, ...), not the app's environment.
     */
    readonly by: 'release' | 'deployment-setting' | 'drift.expect' | 'accept-drift';
    /** The glob that matched (the key itself for `release`, its section for a setting). */
    readonly pattern: string;
  } | null;
}

export interface DriftComparison {
  readonly from: DriftSide;
  readonly to: DriftSide;
  /** Every differing key, in key order. */
  readonly differences: readonly DriftDifference[];
  /** How many of them are drift (not expected). */
  readonly drift: number;
}

/** The drift-check step's report in a deployment. */
export interface DriftCheckReport {
  /**
   * Whether drift refuses the deployment: the new release's `drift.enforce` (default true);
   * false: differences are reported, not refused.
   */
  readonly enforced: boolean;
  /** False when the deployment was refused for drift. */
  readonly passed: boolean;
  /** What limited the check (a first deployment: nothing to compare with), or null. */
  readonly note: string | null;
  /** The live release's snapshot (from) against the new release's (to); null: none to compare. */
  readonly comparison: DriftComparison | null;
}

/** `GET /v1/apps/:app/drift`: the report between the colors' latest snapshots, at any time. */
export interface DriftResponse {
  readonly app: string;
  /** The live color's latest snapshot; null when nothing is live or it was never snapshotted. */
  readonly live: DriftSide | null;
  /** The other color's release against the live one (older -> newer); null when it holds none. */
  readonly colors: DriftComparison | null;
  /** The live color when its release started (from) against its latest re-snapshot (to). */
  readonly inPlace: DriftComparison | null;
  /** True when any comparison holds drift. */
  readonly drift: boolean;
  /** What the report could not cover, in words. */
  readonly notes: readonly string[];
}

/** The rolling strategy's part of a deployment's report. */
export interface RollingReport {
  /** Says plainly that rolling keeps no standby, so it has no instant rollback. */
  readonly note: string;
  /** `rolling.batch`: instances replaced per batch. */
  readonly batch: number;
  /** Instances the live color held when the shift began; the new release's count. */
  readonly liveTarget: number;
  readonly target: number;
  readonly batches: readonly RollingBatchView[];
  /** Set when a batch failed (or the deployment was aborted) and traffic went back. */
  readonly restored: RollingRestoreView | null;
}

export interface RollingBatchView {
  /** From 0. */
  readonly index: number;
  /** New instances started and old ones taken out (and stopped) in this batch. */
  readonly started: number;
  readonly removed: number;
  /** The new color's share of public traffic while the batch was watched. */
  readonly percent: number;
  /** Instances of the new and of the old release once the batch was in place. */
  readonly fresh: number;
  readonly old: number;
  readonly ok: boolean;
  readonly reason: string | null;
  readonly probes: number;
  readonly watchedMs: number;
}

export interface RollingRestoreView {
  /** The failed batch and why. */
  readonly reason: string;
  /** Old-release instances started again, new ones stopped to stay under the peak. */
  readonly started: number;
  readonly stopped: number;
  /** Old-release instances serving at the end. */
  readonly live: number;
  /** Why the live color is short of its count; null when it is whole again. */
  readonly problem: string | null;
  /** From the failed batch's verdict until no public request went to the new release. */
  readonly trafficBackMs?: number;
  /** Until the live color was whole again (or the restore gave up). */
  readonly durationMs?: number;
}

export interface SchemaReport {
  /** Why the schema steps did nothing (no database declared). */
  readonly skipped?: string;
  /** The expand migrations not yet applied, in order. */
  readonly pending: readonly string[];
  /** Contract migrations of the release, held until the standby is retired. */
  readonly contractHeld?: readonly string[];
  /** Applied migrations whose file changed since (the deployment is refused). */
  readonly changed?: string;
  readonly lint?: {
    readonly blocking: number;
    readonly findings: readonly {
      readonly rule: string;
      readonly severity: 'error' | 'warning';
      readonly path: string;
      readonly line: number;
      readonly message: string;
      readonly fix: string;
    }[];
  };
  readonly shadow?: {
    readonly passed: boolean;
    readonly createMs: number;
    readonly applyMs: number;
    readonly dropMs: number;
    /** cutover's own time on the shadow: create, apply, drop (not the apps' checks). */
    readonly cutoverMs: number;
    /** The releases' compat checks against the shadow (the apps' own code), summed. */
    readonly checksMs: number;
    readonly applied: readonly string[];
    readonly applyError: string | null;
    /** Which release failed which check, one line each. */
    readonly failures: readonly string[];
    readonly live: { readonly release: string; readonly passed: boolean } | null;
    readonly next: { readonly release: string; readonly passed: boolean } | null;
    /** Releases whose config names no compat check: nothing proved them on the shadow. */
    readonly notChecked: readonly string[];
    /** Every check each release ran on the shadow, in order (absent in older reports). */
    readonly checks?: readonly ShadowCheckView[];
    /** PostgreSQL with `migrations.compat.writes`: the live rows copied onto the shadow first. */
    readonly seeded?: readonly { readonly table: string; readonly rows: number }[];
    /** Copying those rows (cutover's own time, part of cutoverMs). */
    readonly seedMs?: number;
    /** Postgres: per file, the lock each statement takes and the tables it rewrote. */
    readonly locks: readonly {
      readonly file: string;
      readonly rewrittenTables: readonly string[];
      readonly statements: readonly {
        readonly index: number;
        readonly kind: string;
        readonly lock: string | null;
        readonly table: string | null;
        readonly rewrote: boolean | null;
      }[];
    }[];
  };
}

/** One check of one release against the migrated shadow. */
export interface ShadowCheckView {
  readonly release: string;
  readonly role: 'live' | 'new';
  /** `the compat command \`...\``, `smoke check POST /api/orders`, `its write at writes.sql:3`. */
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly durationMs: number;
}

export interface DeploymentView {
  readonly id: string;
  readonly app: string;
  readonly release: string;
  /** The current step, or the outcome once ended. */
  readonly step: DeploymentStepName | DeploymentOutcome;
  readonly ended: boolean;
  readonly outcome: DeploymentOutcome | null;
  /** Why it failed, was aborted or rolled back; null while all is well. */
  readonly reason: string | null;
  /** The live color when the deployment began (null on the app's first one). */
  readonly from: Color | null;
  /** The color the release goes into. */
  readonly to: Color | null;
  /** Public traffic is on `to` because of this deployment. */
  readonly flipped: boolean;
  /** How traffic moves (issue 5); absent on deployments stored before strategies existed. */
  readonly strategy?: 'bluegreen' | 'canary' | 'rolling';
  /** Canary steps (or rolling batches) passed so far, while and after shifting. */
  readonly shiftIndex?: number;
  /** What the current step waits for, for live progress (`2 of 2 instances healthy`). */
  readonly waitingFor: string | null;
  readonly requestedBy: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  /** How many times a restarted daemon picked it up again. */
  readonly resumes: number;
  readonly steps: readonly DeploymentStepView[];
  readonly report: DeploymentReport;
}

export interface DeploymentListResponse {
  readonly deployments: readonly DeploymentView[];
}

export interface AbortRequest {
  /** Shown in the history and the deployment's reason. */
  readonly reason?: string;
}

export interface DrillRequest {
  /** Overrides the app's `rto` objective for this drill. */
  readonly objectiveMs?: number;
}

export interface DrillPhase {
  readonly flip: FlipResponse;
  /** Probes through the public listener after the flip. */
  readonly verify: {
    readonly ok: boolean;
    readonly reason: string | null;
    readonly probes: number;
    readonly durationMs: number;
  };
  /** From the start of the phase to the first good answer of the new live color. */
  readonly recoveryMs: number;
}

export interface DrillReport {
  readonly app: string;
  /** The live color at the start, and the standby the drill rolled back to. */
  readonly live: Color;
  readonly standby: Color;
  readonly passed: boolean;
  /** Why it did not pass; null when it did. */
  readonly reason: string | null;
  /** Measured recovery time: the rollback phase's recoveryMs. */
  readonly rtoMs: number;
  readonly objectiveMs: number;
  /** Requests the router answered with a failure (5xx it made) for the app during the drill. */
  readonly failedRequests: number;
  /** Requests the app's public traffic carried during the drill. */
  readonly requests: number;
  readonly back: DrillPhase;
  /** Absent when the drill stopped after the rollback phase. */
  readonly forward: DrillPhase | null;
  readonly startedAt: string;
  readonly durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Migrations (issue 4).
//   POST /v1/apps/:app/migrations/plan      MigrationsPlanRequest -> MigrationsPlanResponse
//        what the release in `dir` (its cutover.yaml text in `config`) would apply
//   GET  /v1/apps/:app/migrations            -> MigrationsPlanResponse for the live release
//   POST /v1/apps/:app/migrations/contract   {} -> MigrationsContractResponse: applies the live
//        release's pending contract migrations; 409 CUTOVER_ERR_MIGRATION_STANDBY_ALIVE while a
//        standby (which may still use the old schema) exists
// ---------------------------------------------------------------------------------------------

export interface MigrationsPlanRequest {
  readonly release: string;
  readonly dir: string;
  readonly config: string;
  readonly configPath?: string;
}

export interface AppliedMigrationView {
  readonly name: string;
  readonly phase: 'expand' | 'contract';
  readonly appliedAt: string;
  readonly release: string;
}

export interface MigrationsPlanResponse {
  readonly app: string;
  readonly release: string;
  readonly dialect: 'postgres' | 'sqlite';
  /** The database URL without its password. */
  readonly database: string;
  readonly applied: readonly AppliedMigrationView[];
  /** Expand files a deployment of the release would apply, in order. */
  readonly pending: readonly string[];
  /** Contract files held until the standby is retired. */
  readonly contractPending: readonly string[];
  /**
   * `status` only: who runs the contract files (`migrations.contract`) and what holds them back
   * now (`the standby v1 on blue may still use the old schema`), null when nothing does.
   */
  readonly contract?: { readonly mode: 'auto' | 'manual'; readonly heldBy: string | null };
  /** Applied files whose checksum changed: a deployment would be refused. */
  readonly changed: readonly string[];
}

export interface MigrationsContractResponse {
  readonly app: string;
  readonly release: string;
  readonly applied: readonly string[];
  readonly durationMs: number;
  /** Each applied file with the time it took, in order. */
  readonly files?: readonly { readonly name: string; readonly durationMs: number }[];
}
