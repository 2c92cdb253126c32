// A real admin server (Unix socket and loopback TCP on port 0) around a fake controller, for
// route tests: status codes, guards, bodies and the audit log, without a daemon.
//
//   const fixture = await startAdminFixture(controller);
//   const reply = await adminCall(fixture.unix, 'GET', '/v1/deployments');
//   await fixture.close();
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type {
  DeploymentView,
  DrillReport,
  FlipResponse,
  MigrationsContractResponse,
  MigrationsPlanResponse,
} from '../../src/client/api-types.ts';
import type { AdminController, AuditEntry } from '../../src/daemon/admin/admin-context.ts';
import { createAdminMetrics, type AdminMetrics } from '../../src/daemon/admin/admin-metrics.ts';
import { createAdminServer, type AdminServer } from '../../src/daemon/admin/admin-server.ts';

export const ADMIN_FIXTURE_TOKEN = 'fixture-token-0123456789abcdef';

export interface AdminCallReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  json<T = { error?: { code: string; message: string } } & Record<string, unknown>>(): T;
}

export type AdminTarget = { socketPath: string } | { host: string; port: number };

export function adminCall(
  target: AdminTarget,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<AdminCallReply> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface AdminFixture {
  readonly server: AdminServer;
  readonly unix: { socketPath: string };
  readonly tcp: { host: string; port: number };
  readonly audits: AuditEntry[];
  readonly metrics: AdminMetrics;
  close(): Promise<void>;
}

export async function startAdminFixture(controller: AdminController): Promise<AdminFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-admin-fixture-'));
  const audits: AuditEntry[] = [];
  const metrics = createAdminMetrics();
  const server = await createAdminServer({
    socketPath: join(dir, 'admin.sock'),
    tcp: { address: { host: '127.0.0.1', port: 0 }, token: ADMIN_FIXTURE_TOKEN },
    logger: pino({ level: 'silent' }),
    context: {
      controller,
      describeTraffic: () => Promise.resolve({ generation: 1, workers: 1, apps: {} }),
      audit: (entry) => {
        audits.push(entry);
        return Promise.resolve();
      },
      followHistory: () => Promise.resolve(),
      metrics,
      health: () => ({ ok: true, version: '0.0.0', pid: 1, public: 'a:1', preview: 'b:2' }),
    },
  });
  const tcpAddress = server.tcpAddress;
  if (tcpAddress === null) throw new Error('the fixture asked for a TCP listener');
  return {
    server,
    unix: { socketPath: server.socketPath },
    tcp: { host: '127.0.0.1', port: tcpAddress.port },
    audits,
    metrics,
    async close() {
      await server.close(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sampleDeploymentView(overrides: Partial<DeploymentView> = {}): DeploymentView {
  return {
    id: 'd-1',
    app: 'shop',
    release: 'v2',
    step: 'locking',
    ended: false,
    outcome: null,
    reason: null,
    from: 'blue',
    to: null,
    flipped: false,
    waitingFor: null,
    requestedBy: 'unix:alice',
    startedAt: '2026-11-26T12:00:00.000Z',
    updatedAt: '2026-11-26T12:00:00.000Z',
    endedAt: null,
    resumes: 0,
    steps: [],
    report: {},
    ...overrides,
  };
}

function sampleFlip(app: string, from: 'blue' | 'green', generation: number): FlipResponse {
  return {
    app,
    from,
    to: from === 'blue' ? 'green' : 'blue',
    release: 'v1',
    generation,
    durationMs: 0.8,
  };
}

export function sampleDrillReport(app: string, objectiveMs: number): DrillReport {
  const verify = { ok: true, reason: null, probes: 10, durationMs: 1000 };
  return {
    app,
    live: 'green',
    standby: 'blue',
    passed: true,
    reason: null,
    rtoMs: 3.5,
    objectiveMs,
    failedRequests: 0,
    requests: 120,
    back: { flip: sampleFlip(app, 'green', 10), verify, recoveryMs: 3.5 },
    forward: { flip: sampleFlip(app, 'blue', 11), verify, recoveryMs: 2.9 },
    startedAt: '2026-11-26T12:00:00.000Z',
    durationMs: 2100,
  };
}

/** What `migrations plan|status` answers for the shop: 0001 applied by v1, 0002 pending. */
export function sampleMigrationsPlan(
  overrides: Partial<MigrationsPlanResponse> = {},
): MigrationsPlanResponse {
  return {
    app: 'shop',
    release: 'v2',
    dialect: 'sqlite',
    database: 'sqlite:/var/lib/shop/shop.db',
    applied: [
      {
        name: '0001_init.sql',
        phase: 'expand',
        appliedAt: '2026-11-26T12:00:00.000Z',
        release: 'v1',
      },
    ],
    pending: ['0002_add_order_note.sql'],
    contractPending: [],
    changed: [],
    ...overrides,
  };
}

export function sampleMigrationsContract(
  overrides: Partial<MigrationsContractResponse> = {},
): MigrationsContractResponse {
  return {
    app: 'shop',
    release: 'v2',
    applied: ['0003_drop_legacy_total.sql'],
    durationMs: 12,
    ...overrides,
  };
}
