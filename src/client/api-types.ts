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
// Mutations: Content-Type application/json (415 otherwise); optional If-Match: "<revision>"
// (412 CUTOVER_ERR_STATE_CONFLICT when stale); 409 CUTOVER_ERR_APP_LOCKED names the holder.
import type { Color, FlipRecord, HealthCheckSpec } from '../core/types.ts';

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
}

export interface AppStatus {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly live: Color | null;
  readonly standby: Color | null;
  readonly colors: Readonly<Record<Color, ColorStatus>>;
  readonly flips: readonly FlipRecord[];
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
