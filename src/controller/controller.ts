// The controller: drives deploy, flip and rollback for every app. Each change is persisted
// (compare-and-swap) before the routing table built from it is applied, so a crash never
// leaves routing ahead of the stored state (DESIGN.md pipeline; QUALITY.md A8, E1).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  MigrationsContractResponse,
  MigrationsPlanRequest,
  MigrationsPlanResponse,
  AbortRequest,
  AppStatus,
  DeploymentListResponse,
  DeploymentSummary,
  DeploymentView,
  DrillReport,
  DrillRequest,
  DriftResponse,
  StartDeploymentRequest,
  DeployRequest,
  DeployResponse,
  DrainSummary,
  FlipRequest,
  FlipResponse,
  HistoryResponse,
  RollbackRequest,
  StatusResponse,
} from '../client/api-types.ts';
import {
  assertHostsFree,
  emptyApp,
  flipApp,
  flipTargetOf,
  normalizeHosts,
  placeRelease,
  resolveHealthSpec,
  rollbackTargetOf,
  validateAddresses,
  validateAppName,
  validateHealthTimeout,
  validateReleaseId,
  withFlipDuration,
} from '../core/app-state.ts';
import { CutoverError, isCutoverError } from '../core/errors.ts';
import { buildRoutingTable, idleColorOf } from '../core/routing-table.ts';
import type {
  AppState,
  Color,
  DaemonState,
  FlipRecord,
  HealthCheckSpec,
  InstanceSpec,
  TrafficMirror,
  TrafficSplit,
} from '../core/types.ts';
import { COLORS } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { Runtime } from '../ports/runtime.ts';
import type { CorruptRecord, StateChange, StateStore } from '../ports/state-store.ts';
import type { TrafficSnapshot, TrafficSwitch } from '../ports/traffic-switch.ts';
import type { HealthChecker } from '../probes/health-checker.ts';
import type { AppConfig } from '../core/app-config.ts';
import { validateAppConfig } from '../core/app-config.ts';
import type { AdoptedInstance } from '../ports/runtime.ts';
import type { MigrationTarget } from '../ports/database.ts';
import { holdAppLock, LOCK_RENEW_INTERVAL_MS, LOCK_TTL_MS } from './app-lock.ts';
import type { HeldLock } from './app-lock.ts';
import { toAppStatus } from './app-status.ts';
import { DeploymentRunner } from './deployment-runner.ts';
import { runDrill } from './drill.ts';
import { contractLive, planRelease, releaseFromRequest } from './migrations-admin.ts';
import type { MigrationsAdminDeps } from './migrations-admin.ts';
import type { SchemaRelease } from './schema-steps.ts';
import type { PipelineHost, PlacedRelease } from './pipeline-host.ts';
import type { DriftService } from '../drift/drift-service.ts';

export const DRAIN_TIMEOUT_MS = 30_000;
export const WEBSOCKET_GRACE_MS = 10_000;
export const HEALTH_TIMEOUT_MS = 30_000;
/** Extra time a flip gives instances whose health is not known yet (e.g. after a restart). */
export const FLIP_HEALTH_MARGIN_MS = 1_000;

export interface ControllerDeps {
  store: StateStore;
  traffic: TrafficSwitch;
  runtime: Runtime;
  clock: Clock;
  health: HealthChecker;
  logger: Logger;
  drain?: { timeoutMs: number; websocketGraceMs: number };
  /** The app lock's TTL and renewal period; defaults LOCK_TTL_MS / LOCK_RENEW_INTERVAL_MS. */
  lock?: { ttlMs: number; renewMs: number };
  /** Starts and stops the instances of `runtime: process` apps (issue 3); null: external only. */
  processRuntime?: Runtime | null;
  /** The public and preview listeners' base URLs, for smoke tests, warm-up and probes. */
  urls?: () => { readonly public: string; readonly preview: string };
  /** Instances a restarted daemon found running (the process runtime's adopt). */
  adopted?: () => readonly AdoptedInstance[];
  /** Test hook: called at each deployment step boundary (kill -9 tests). */
  failpoint?: (name: string) => void;
  /** Opens an app's database for the schema steps (issue 4), by its URL. */
  openDatabase?: (url: string) => Promise<MigrationTarget>;
  /** Snapshots and diffs releases (issue 5): the drift-check step and `cutover drift`. */
  drift?: DriftService;
}

export interface MutationOptions {
  ifMatch?: number;
  /** Who asked: recorded in the history and named in a lock refusal. */
  actor: string;
}

function errorCode(error: unknown): string {
  return isCutoverError(error) ? error.code : 'CUTOVER_ERR_INTERNAL';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Controller {
  readonly #deps: ControllerDeps;
  readonly #drain: { timeoutMs: number; websocketGraceMs: number };
  readonly #lockTiming: { ttlMs: number; renewMs: number };
  #state: DaemonState = { revision: 0, apps: {} };
  #corrupt: readonly CorruptRecord[] = [];
  /** Serializes read-modify-write on the cached state: one compare-and-swap at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #watches = new Map<string, () => void>();
  #offHealth: (() => void) | null = null;
  readonly #runner: DeploymentRunner;
  readonly #host: PipelineHost;
  #resuming: Promise<void> = Promise.resolve();

  constructor(deps: ControllerDeps) {
    this.#deps = deps;
    this.#lockTiming = deps.lock ?? { ttlMs: LOCK_TTL_MS, renewMs: LOCK_RENEW_INTERVAL_MS };
    this.#drain = deps.drain ?? {
      timeoutMs: DRAIN_TIMEOUT_MS,
      websocketGraceMs: WEBSOCKET_GRACE_MS,
    };
    this.#host = {
      appState: (app) => (Object.hasOwn(this.#state.apps, app) ? this.#state.apps[app] : undefined),
      place: (app, color, release, hosts) => this.#placeRelease(app, color, release, hosts),
      clearColor: (app, color) => this.#clearColor(app, color),
      flip: (app, to, kind, actor, startedMs) =>
        this.#flipTo(app, to, kind, actor, startedMs, false, false),
      drain: (app, color, actor, options) => this.#drainColor(app, color, actor, options),
      markUp: (addresses) => this.#markUp(addresses),
      record: (app, type, data) => this.#record(app, type, data),
      setSplit: (app, split) => this.#setTrafficShare(app, { split }),
      setMirror: (app, mirror) => this.#setTrafficShare(app, { mirror }),
      setInstances: (app, color, instances) => this.#setInstances(app, color, instances),
    };
    this.#runner = new DeploymentRunner({
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      traffic: deps.traffic,
      health: deps.health,
      host: this.#host,
      runtimes: { process: deps.processRuntime ?? null, external: deps.runtime },
      urls:
        deps.urls ??
        (() => ({ public: 'http://127.0.0.1:8080', preview: 'http://127.0.0.1:8081' })),
      lock: this.#lockTiming,
      ...(deps.adopted === undefined ? {} : { adopted: deps.adopted }),
      ...(deps.failpoint === undefined ? {} : { failpoint: deps.failpoint }),
      ...(deps.openDatabase === undefined ? {} : { openDatabase: deps.openDatabase }),
      // The runner hands its dependencies to every effect: the drift-check step finds it there.
      ...(deps.drift === undefined ? {} : { drift: deps.drift }),
    });
  }

  get revision(): number {
    return this.#state.revision;
  }

  /** Apps whose stored record could not be read; they are not routed (QUALITY.md B7). */
  get corrupt(): readonly CorruptRecord[] {
    return this.#corrupt;
  }

  async start(): Promise<void> {
    const loaded = await this.#deps.store.load();
    this.#state = loaded.state;
    this.#corrupt = loaded.corrupt;
    for (const record of loaded.corrupt) {
      this.#deps.logger.error(
        { app: record.app, reason: record.reason },
        'the stored record of this app is corrupt; it is not routed, every other app is',
      );
    }
    const { health, traffic } = this.#deps;
    this.#offHealth = health.onChange(() => traffic.setUpstreamHealth(health.snapshot()));
    this.#syncWatches();
    await this.#applyTable(this.#state);
    this.#deps.logger.info(
      { revision: this.#state.revision, apps: Object.keys(this.#state.apps).length },
      'controller started; routing the stored state',
    );
    // Deployments a dead daemon left running go on (or end consistently) from their stored step.
    this.#resuming = this.#runner.resumeAll().catch((error: unknown) => {
      this.#deps.logger.error({ err: error }, 'could not resume the stored deployments');
    });
  }

  /** Interrupts running deployments at their stored step (shutdown); they resume at the next start. */
  async pauseDeployments(): Promise<void> {
    await this.#resuming;
    await this.#runner.stop();
  }

  async stop(): Promise<void> {
    await this.pauseDeployments();
    this.#offHealth?.();
    this.#offHealth = null;
    for (const unwatch of this.#watches.values()) unwatch();
    this.#watches.clear();
  }

  // --- Migrations (issue 4) ----------------------------------------------------------------

  #migrationsDeps(): MigrationsAdminDeps {
    const open = this.#deps.openDatabase;
    if (open === undefined) {
      throw new CutoverError('CUTOVER_ERR_INTERNAL', 'This daemon cannot open databases.');
    }
    return { openDatabase: open };
  }

  migrationsPlan(app: string, req: MigrationsPlanRequest): Promise<MigrationsPlanResponse> {
    validateAppName(app);
    return planRelease(this.#migrationsDeps(), app, releaseFromRequest(app, req));
  }

  async #requireLiveRelease(app: string): Promise<SchemaRelease> {
    this.#requireApp(app);
    const live = await this.#runner.liveRelease(app);
    if (live === null) {
      throw new CutoverError(
        'CUTOVER_ERR_DEPLOY_NOT_FOUND',
        `App "${app}" has no live release deployed by \`cutover deploy --dir\` (its cutover.yaml is unknown).`,
        { app },
      );
    }
    return live;
  }

  async migrationsStatus(app: string): Promise<MigrationsPlanResponse> {
    validateAppName(app);
    const live = await this.#requireLiveRelease(app);
    return planRelease(this.#migrationsDeps(), app, live, this.#requireApp(app));
  }

  async migrationsContract(
    app: string,
    opts: MutationOptions,
  ): Promise<MigrationsContractResponse> {
    this.#checkIfMatch(opts);
    validateAppName(app);
    const live = await this.#requireLiveRelease(app);
    const lock = await holdAppLock(
      this.#deps,
      app,
      `${opts.actor} (migrations contract)`,
      this.#lockTiming,
    );
    try {
      const result = await contractLive(this.#migrationsDeps(), this.#requireApp(app), live);
      if (result.applied.length > 0) {
        await this.#record(app, 'migrations-contracted', { actor: opts.actor, ...result });
      }
      return result;
    } finally {
      await lock.release();
    }
  }

  /** A contract migration after the standby was placed may have removed what it uses. */
  async #assertStandbyCompatible(app: AppState, to: Color): Promise<void> {
    const placedAt = app.environments[to].release?.placedAt;
    if (placedAt === undefined) return;
    const events = await this.#deps.store.listHistory({ app: app.name, limit: 1000 });
    const contracted = events.find(
      (event) => event.type === 'migrations-contracted' && event.at > placedAt,
    );
    if (contracted !== undefined) {
      const names = Array.isArray(contracted.data.applied)
        ? contracted.data.applied.join(', ')
        : '';
      throw new CutoverError(
        'CUTOVER_ERR_ROLLBACK_INCOMPATIBLE',
        `Refused to roll app "${app.name}" back to ${to}: the contract migrations ${names} ran at ${contracted.at}, after that release was placed, and it may use what they removed. Deploy a release that works with the current schema instead.`,
        { app: app.name, to },
      );
    }
  }

  // --- Deployments (the pipeline) ---------------------------------------------------------

  /** The app's running deployment, else its last one, in one line; null if it never had one. */
  async #deploymentSummary(app: string): Promise<DeploymentSummary | null> {
    let view = this.#runner.runningOf(app);
    if (view === null) {
      const [last] = (await this.#runner.list({ app, limit: 1 })).deployments;
      view = last ?? null;
    }
    if (view === null) return null;
    const { id, release, step, ended, reason, waitingFor, startedAt, endedAt } = view;
    return { id, release, step, ended, reason, waitingFor, startedAt, endedAt };
  }

  async startDeployment(
    app: string,
    req: StartDeploymentRequest,
    opts: MutationOptions,
  ): Promise<DeploymentView> {
    this.#checkIfMatch(opts);
    await this.#resuming;
    return this.#runner.start(app, req, opts.actor);
  }

  getDeployment(id: string): Promise<DeploymentView> {
    return this.#runner.get(id);
  }

  listDeployments(query: { app?: string; limit?: number }): Promise<DeploymentListResponse> {
    return this.#runner.list(query);
  }

  abortDeployment(id: string, req: AbortRequest, opts: MutationOptions): Promise<DeploymentView> {
    return this.#runner.abort(id, opts.actor, req.reason);
  }

  abortApp(app: string, req: AbortRequest, opts: MutationOptions): Promise<DeploymentView> {
    validateAppName(app);
    return this.#runner.abortApp(app, opts.actor, req.reason);
  }

  /** `cutover promote` (issue 5): the app's canary skips its remaining steps to the flip. */
  promoteApp(app: string, opts: MutationOptions): Promise<DeploymentView> {
    validateAppName(app);
    return this.#runner.promoteApp(app, opts.actor);
  }

  /** Waits until the deployment has ended (tests). */
  settled(id: string): Promise<void> {
    return this.#runner.settled(id);
  }

  /** The running deployment of an app, for status. */
  runningDeployment(app: string): DeploymentView | null {
    return this.#runner.runningOf(app);
  }

  async drill(app: string, req: DrillRequest, opts: MutationOptions): Promise<DrillReport> {
    this.#checkIfMatch(opts);
    validateAppName(app);
    const current = this.#requireApp(app);
    rollbackTargetOf(current);
    const lock = await holdAppLock(this.#deps, app, `${opts.actor} (drill)`, this.#lockTiming);
    try {
      const state = this.#requireApp(app);
      const standby = rollbackTargetOf(state);
      const live = state.live;
      if (live === null) {
        throw new CutoverError(
          'CUTOVER_ERR_ROLLBACK_NO_STANDBY',
          `App "${app}" has no live color.`,
        );
      }
      await this.#assertFlippable(state, standby);
      const config = await this.#configOf(state);
      const objectiveMs = req.objectiveMs ?? config.rtoMs;
      const urls = this.#urls();
      return await runDrill(
        { host: this.#host, clock: this.#deps.clock, traffic: this.#deps.traffic },
        { app, live, standby, config, objectiveMs, actor: opts.actor, publicUrl: urls.public },
      );
    } finally {
      await lock.release();
    }
  }

  #urls(): { public: string; preview: string } {
    return (
      this.#deps.urls?.() ?? { public: 'http://127.0.0.1:8080', preview: 'http://127.0.0.1:8081' }
    );
  }

  /** The cutover.yaml the live release was deployed with; defaults (and its health path) otherwise. */
  async #configOf(app: AppState): Promise<AppConfig> {
    const liveRelease = app.live === null ? null : app.environments[app.live].release;
    const deployed = await this.#runner.liveRelease(app.name);
    if (deployed !== null) return deployed.config;
    const path = liveRelease?.health.path ?? '/';
    const defaults = validateAppConfig({
      app: app.name,
      runtime: 'external',
      health: { path },
      switch: { probePaths: [path], probeWindow: '2s', probeInterval: '100ms' },
      ...(app.hosts.length === 0 ? {} : { hosts: [...app.hosts] }),
    });
    if (!defaults.ok) {
      throw new CutoverError('CUTOVER_ERR_INTERNAL', `no default config for app "${app.name}"`);
    }
    return defaults.config;
  }

  async #placeRelease(
    app: string,
    color: Color,
    release: PlacedRelease,
    hosts: readonly string[],
  ): Promise<void> {
    const placedAt = new Date(this.#deps.clock.nowMs()).toISOString();
    const placed = await this.#commit((state) => {
      const wanted = hosts.length > 0 ? normalizeHosts(hosts) : (state.apps[app]?.hosts ?? []);
      assertHostsFree(state.apps, app, wanted);
      const current = state.apps[app] ?? emptyApp(app, wanted);
      return {
        put: [
          placeRelease(
            current,
            color,
            { ...release, instances: [...release.instances], placedAt },
            wanted,
          ),
        ],
      };
    });
    this.#syncWatches();
    await this.#applyTable(placed);
  }

  async #setTrafficShare(
    app: string,
    change: { readonly split?: TrafficSplit | null; readonly mirror?: TrafficMirror | null },
  ): Promise<void> {
    const wanted = change.split ?? change.mirror ?? null;
    const changed = await this.#commit((state) => {
      const now = state.apps[app];
      if (now === undefined) {
        throw new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', `No app named "${app}".`, { app });
      }
      if (wanted !== null && (now.live === wanted.color || now.live === null)) {
        throw new CutoverError(
          'CUTOVER_ERR_INTERNAL',
          `Refused to share traffic of app "${app}" with ${wanted.color}: it is not the idle color.`,
        );
      }
      if (wanted !== null && now.environments[wanted.color].release === null) {
        throw new CutoverError(
          'CUTOVER_ERR_INTERNAL',
          `Refused to share traffic of app "${app}" with ${wanted.color}: it holds no release.`,
        );
      }
      return { put: [{ ...now, ...change }] };
    });
    await this.#applyTable(changed);
  }

  async #setInstances(
    app: string,
    color: Color,
    instances: readonly InstanceSpec[],
  ): Promise<void> {
    const changed = await this.#commit((state) => {
      const now = state.apps[app];
      const release = now?.environments[color].release ?? null;
      if (now === undefined || release === null) {
        throw new CutoverError(
          'CUTOVER_ERR_INTERNAL',
          `Refused to change the instances of ${color} of app "${app}": it holds no release.`,
        );
      }
      return {
        put: [
          {
            ...now,
            environments: {
              ...now.environments,
              [color]: { color, release: { ...release, instances: [...instances] } },
            },
          },
        ],
      };
    });
    this.#syncWatches();
    await this.#applyTable(changed);
  }

  async #clearColor(app: string, color: Color): Promise<void> {
    const current = this.#state.apps[app];
    if (current === undefined || current.environments[color].release === null) return;
    if (current.live === color) {
      throw new CutoverError(
        'CUTOVER_ERR_INTERNAL',
        `Refused to empty the live color ${color} of app "${app}".`,
      );
    }
    const cleared = await this.#commit((state) => {
      const now = state.apps[app];
      if (now === undefined) return {};
      const emptied: AppState = {
        ...now,
        standby: now.standby === color ? null : now.standby,
        environments: { ...now.environments, [color]: { color, release: null } },
      };
      const nothingLeft =
        emptied.live === null &&
        emptied.environments.blue.release === null &&
        emptied.environments.green.release === null;
      return nothingLeft ? { delete: [app] } : { put: [emptied] };
    });
    this.#syncWatches();
    await this.#applyTable(cleared);
  }

  /** `traffic`: a snapshot the caller just read (/metrics), so the workers are asked once. */
  async status(app?: string, traffic?: TrafficSnapshot): Promise<StatusResponse> {
    traffic ??= await this.#deps.traffic.describe();
    const apps =
      app === undefined
        ? Object.values(this.#state.apps).sort((a, b) => a.name.localeCompare(b.name))
        : [this.#requireApp(app)];
    const isHealthy = (address: string): boolean =>
      this.#deps.health.stateOf(address).state === 'up';
    const summaries = await Promise.all(apps.map((each) => this.#deploymentSummary(each.name)));
    return {
      revision: this.#state.revision,
      generation: traffic.generation,
      apps: apps.map((each, index): AppStatus => ({
        ...toAppStatus(each, traffic, isHealthy),
        deployment: summaries[index] ?? null,
      })),
    };
  }

  /** `cutover drift` (issue 5): the report between the colors' latest snapshots. */
  async drift(app: string): Promise<DriftResponse> {
    validateAppName(app);
    const state = Object.hasOwn(this.#state.apps, app) ? this.#state.apps[app] : undefined;
    if (state === undefined) {
      throw new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', `No app named "${app}".`, { app });
    }
    if (this.#deps.drift === undefined) {
      throw new CutoverError('CUTOVER_ERR_INTERNAL', 'This daemon does not snapshot config.');
    }
    return this.#deps.drift.report(app, state);
  }

  async history(query: { app?: string; limit?: number }): Promise<HistoryResponse> {
    if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 1)) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `Invalid history limit ${query.limit}: expected a whole number of at least 1.`,
      );
    }
    const events = await this.#deps.store.listHistory(query);
    return { events: events.map((event) => ({ ...event })) };
  }

  /**
   * Places the release into the idle color (first deployment: blue), waits for every instance
   * to rise, then flips. A failed health check flips nothing and puts the app back as it was
   * (the previous standby included; a first deployment leaves no app). If only the flip fails,
   * the healthy release stays in the idle color, ready for `flip`.
   */
  async deploy(app: string, req: DeployRequest, opts: MutationOptions): Promise<DeployResponse> {
    this.#checkIfMatch(opts);
    validateAppName(app);
    validateReleaseId(req.release);
    const addresses = validateAddresses(req.instances);
    const requestedHosts = req.hosts === undefined ? undefined : normalizeHosts(req.hosts);
    const healthSpec = resolveHealthSpec(req.health);
    const healthTimeoutMs = validateHealthTimeout(req.healthTimeoutMs ?? HEALTH_TIMEOUT_MS);
    const hostsOf = (state: DaemonState): readonly string[] =>
      requestedHosts ?? state.apps[app]?.hosts ?? [];
    assertHostsFree(this.#state.apps, app, hostsOf(this.#state));

    const deployId = randomUUID().slice(0, 8);
    const lock = await holdAppLock(
      this.#deps,
      app,
      `${opts.actor} (deploy ${req.release}, ${deployId})`,
      this.#lockTiming,
    );
    try {
      const before = this.#state.apps[app];
      const color = idleColorOf(before ?? emptyApp(app, []));
      const base = { actor: opts.actor, deployId, release: req.release, color };
      await this.#record(app, 'deploy-started', { ...base, instances: addresses });
      let placedCommitted = false;
      try {
        const instances = await this.#deps.runtime.start({
          app,
          release: req.release,
          color,
          addresses,
        });
        const placedAt = new Date(this.#deps.clock.nowMs()).toISOString();
        const placed = await this.#commit((state) => {
          const hosts = hostsOf(state);
          assertHostsFree(state.apps, app, hosts);
          const current = state.apps[app] ?? emptyApp(app, hosts);
          const release = { id: req.release, instances, health: healthSpec, placedAt };
          return { put: [placeRelease(current, color, release, hosts)] };
        });
        placedCommitted = true;
        this.#syncWatches();
        // The idle color now serves the preview listener.
        await this.#applyTable(placed);
      } catch (error) {
        if (placedCommitted) await this.#restoreQuietly(app, before);
        await this.#record(app, 'deploy-failed', {
          ...base,
          step: 'place',
          code: errorCode(error),
          error: errorMessage(error),
        });
        throw error;
      }

      const healthStartedMs = this.#deps.clock.monotonicMs();
      try {
        await this.#deps.health.waitHealthy(addresses, healthSpec, healthTimeoutMs);
      } catch (error) {
        // A failed deploy leaves the app as it was before it (the previous standby included).
        await this.#restoreQuietly(app, before);
        await this.#record(app, 'deploy-failed', {
          ...base,
          step: 'health',
          code: errorCode(error),
          error: errorMessage(error),
        });
        throw error;
      }
      const healthMs = this.#deps.clock.monotonicMs() - healthStartedMs;
      this.#markUp(addresses);
      await this.#record(app, 'deploy-healthy', { ...base, healthMs });

      // The flip of a deploy is timed from the flip step: the health wait is in healthMs.
      const flipStartedMs = this.#deps.clock.monotonicMs();
      const flip = await this.#flipTo(app, color, 'deploy', opts.actor, flipStartedMs, false);
      return { app, release: req.release, color, healthMs, flip };
    } finally {
      await lock.release();
    }
  }

  async flip(app: string, req: FlipRequest, opts: MutationOptions): Promise<FlipResponse> {
    const startedMs = this.#deps.clock.monotonicMs();
    this.#checkIfMatch(opts);
    validateAppName(app);
    if (req.to !== undefined && !COLORS.includes(req.to)) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `Invalid color "${String(req.to)}": expected blue or green.`,
        { field: 'to' },
      );
    }
    this.#requireApp(app);
    const lock = await holdAppLock(this.#deps, app, `${opts.actor} (flip)`, this.#lockTiming);
    try {
      const current = this.#requireApp(app);
      const to = flipTargetOf(current, req.to);
      await this.#assertFlippable(current, to);
      const flipped = await this.#flipTo(
        app,
        to,
        'flip',
        opts.actor,
        startedMs,
        req.waitDrain === true,
      );
      this.#retireStandbyLater(app);
      return flipped;
    } finally {
      await lock.release();
    }
  }

  async rollback(app: string, req: RollbackRequest, opts: MutationOptions): Promise<FlipResponse> {
    const startedMs = this.#deps.clock.monotonicMs();
    this.#checkIfMatch(opts);
    validateAppName(app);
    rollbackTargetOf(this.#requireApp(app));
    const lock = await this.#rollbackLock(app, opts.actor);
    try {
      const current = this.#requireApp(app);
      const to = rollbackTargetOf(current);
      await this.#assertStandbyCompatible(current, to);
      await this.#assertFlippable(current, to);
      const flipped = await this.#flipTo(
        app,
        to,
        'rollback',
        opts.actor,
        startedMs,
        req.waitDrain === true,
      );
      this.#retireStandbyLater(app);
      return flipped;
    } finally {
      await lock?.release();
    }
  }

  #retireStandbyLater(app: string): void {
    void this.#runner.retireStandbyLater(app).catch((error: unknown) => {
      this.#deps.logger.error({ err: error, app }, 'could not schedule the standby retirement');
    });
  }

  /**
   * The app's lock for a rollback. A deployment that is live and only draining the old color
   * (or settling its standby) still holds it; the rollback goes first then, without the lock:
   * undoing a bad release must never wait for a drain. Before that point the deployment's own
   * `abort` is the way back, and the refusal says so.
   */
  async #rollbackLock(app: string, actor: string): Promise<HeldLock | null> {
    try {
      return await holdAppLock(this.#deps, app, `${actor} (rollback)`, this.#lockTiming);
    } catch (error) {
      const running = this.#runner.runningOf(app);
      if (!isCutoverError(error) || error.code !== 'CUTOVER_ERR_APP_LOCKED' || running === null) {
        throw error;
      }
      if (running.step === 'draining' || running.step === 'standby') return null;
      throw new CutoverError(
        'CUTOVER_ERR_APP_LOCKED',
        `${error.message} The deployment of ${running.release} (${running.id}) is at step "${running.step}": \`cutover abort ${app}\` stops it${running.flipped ? ' and flips back' : ''}.`,
        error.details,
      );
    }
  }

  /**
   * The flip itself: persist first, then apply. If persisting fails nothing changed and the
   * old color keeps serving (QUALITY.md A8); if the router refuses the table, the stored state
   * is put back so it never claims a flip that does not serve.
   */
  async #flipTo(
    app: string,
    to: Color,
    kind: FlipRecord['kind'],
    actor: string,
    startedMs: number,
    waitDrain: boolean,
    drain = true,
  ): Promise<FlipResponse> {
    const previous = this.#requireApp(app);
    const from = previous.live;
    const at = new Date(this.#deps.clock.nowMs()).toISOString();
    let generation = 0;
    let flipped: DaemonState;
    try {
      flipped = await this.#commit((state) => {
        const current = state.apps[app] ?? previous;
        generation = state.revision + 1;
        return { put: [flipApp(current, { to, kind, generation, at, durationMs: 0 })] };
      });
    } catch (error) {
      throw await this.#flipFailed(app, from, to, actor, 'persist', error);
    }
    try {
      await this.#deps.traffic.apply(buildRoutingTable(flipped));
    } catch (error) {
      await this.#restoreQuietly(app, previous);
      throw await this.#flipFailed(app, from, to, actor, 'apply', error);
    }
    const durationMs = this.#deps.clock.monotonicMs() - startedMs;
    const release = flipped.apps[app]?.environments[to].release?.id ?? '';
    // The duration is known only once the table is applied; record it on the flip.
    await this.#commit((state) => {
      const current = state.apps[app];
      return current === undefined
        ? {}
        : { put: [withFlipDuration(current, generation, durationMs)] };
    }).catch((error: unknown) => {
      this.#deps.logger.warn({ err: error, app }, 'could not record the flip duration');
    });
    this.#deps.logger.info({ app, from, to, release, kind, generation, durationMs }, 'flipped');
    await this.#record(app, kind === 'rollback' ? 'rolled-back' : 'flipped', {
      actor,
      kind,
      from,
      to,
      release,
      generation,
      durationMs,
    });
    const response: FlipResponse = { app, from, to, release, generation, durationMs };
    if (from === null || !drain) return response;
    const drained = this.#drainColor(app, from, actor);
    if (!waitDrain) {
      drained.catch(() => undefined);
      return response;
    }
    return { ...response, drain: await drained };
  }

  async #drainColor(
    app: string,
    color: Color,
    actor: string,
    options: { readonly timeoutMs: number; readonly websocketGraceMs: number } = this.#drain,
  ): Promise<DrainSummary> {
    try {
      const report = await this.#deps.traffic.drain(app, color, options);
      const summary: DrainSummary = {
        completed: report.completed,
        aborted: report.aborted,
        websocketsClosed: report.websocketsClosed,
        durationMs: report.durationMs,
        cancelled: report.cancelled,
      };
      await this.#record(app, 'drained', { actor, color, ...summary });
      return summary;
    } catch (error) {
      this.#deps.logger.error({ err: error, app, color }, 'drain failed');
      await this.#record(app, 'drain-failed', { actor, color, error: errorMessage(error) });
      throw error;
    }
  }

  async #flipFailed(
    app: string,
    from: Color | null,
    to: Color,
    actor: string,
    step: 'persist' | 'apply',
    error: unknown,
  ): Promise<CutoverError> {
    await this.#record(app, 'flip-failed', {
      actor,
      from,
      to,
      step,
      code: errorCode(error),
      error: errorMessage(error),
    });
    // Refusals a user can act on pass through; a store or router failure is a failed flip.
    const passThrough = [
      'CUTOVER_ERR_FLIP_NO_TARGET',
      'CUTOVER_ERR_USAGE',
      'CUTOVER_ERR_APP_NOT_FOUND',
    ];
    if (step === 'persist' && isCutoverError(error) && passThrough.includes(error.code)) {
      return error;
    }
    const serving =
      from === null ? 'nothing was live before and nothing is now' : `${from} still serves`;
    return new CutoverError(
      'CUTOVER_ERR_FLIP_FAILED',
      `Could not ${step === 'persist' ? 'save' : 'apply'} the flip of app "${app}" to ${to}: ${errorMessage(error)}. ${serving}.`,
      { app, from, to, step, cause: errorCode(error) },
    );
  }

  /** The target color must hold a release whose instances pass their health checks. */
  async #assertFlippable(app: AppState, to: Color): Promise<void> {
    const release = app.environments[to].release;
    if (release === null) {
      throw new CutoverError(
        'CUTOVER_ERR_FLIP_NO_TARGET',
        `Cannot flip app "${app.name}" to ${to}: that color holds no release. Deploy one first.`,
        { app: app.name, to },
      );
    }
    if (app.live === to) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `App "${app.name}" is already live on ${to}; nothing to flip.`,
        { app: app.name, to },
      );
    }
    const { health } = this.#deps;
    const addresses = release.instances.map((instance) => instance.address);
    const down = addresses.filter((address) => health.stateOf(address).state === 'down');
    const unknown = addresses.filter((address) => health.stateOf(address).state === 'unknown');
    let failing = down.map((address) => ({
      address,
      lastError: health.stateOf(address).lastError ?? 'down',
    }));
    if (failing.length === 0 && unknown.length > 0) {
      // Not judged yet (a fresh daemon): give them one rise's worth of checks.
      const spec = release.health;
      const waitMs = spec.rise * spec.intervalMs + spec.timeoutMs + FLIP_HEALTH_MARGIN_MS;
      try {
        await health.waitHealthy(unknown, spec, waitMs);
        this.#markUp(unknown);
      } catch (error) {
        const details = isCutoverError(error) ? error.details?.failing : undefined;
        failing = Array.isArray(details)
          ? (details as { address: string; lastError: string }[])
          : unknown.map((address) => ({ address, lastError: errorMessage(error) }));
      }
    }
    if (failing.length > 0) {
      throw new CutoverError(
        'CUTOVER_ERR_FLIP_UNHEALTHY',
        `Refused to flip app "${app.name}" to ${to} (release ${release.id}): ${failing
          .map((f) => `${f.address} (${f.lastError})`)
          .join(', ')} failing the health check. Live traffic is unchanged.`,
        { app: app.name, to, failing },
      );
    }
  }

  #checkIfMatch(opts: MutationOptions): void {
    if (opts.ifMatch !== undefined && opts.ifMatch !== this.#state.revision) {
      throw new CutoverError(
        'CUTOVER_ERR_STATE_CONFLICT',
        `The state is at revision ${this.#state.revision}, not ${opts.ifMatch} (If-Match): read the status again and retry.`,
        { expected: opts.ifMatch, actual: this.#state.revision },
      );
    }
  }

  #requireApp(app: string): AppState {
    const state = Object.hasOwn(this.#state.apps, app) ? this.#state.apps[app] : undefined;
    if (state === undefined) {
      const corrupt = this.#corrupt.find((record) => record.app === app);
      if (corrupt !== undefined) {
        throw new CutoverError(
          'CUTOVER_ERR_STATE_CORRUPT',
          `The stored record of app "${app}" is corrupt (${corrupt.reason}); it is not routed. Other apps are unaffected.`,
          { app },
        );
      }
      throw new CutoverError(
        'CUTOVER_ERR_APP_NOT_FOUND',
        `No app named "${app}": deploy it first (cutover deploy <release> --app ${app} --instances host:port).`,
        { app },
      );
    }
    return state;
  }

  /** Puts the app back as it was (or removes it if it did not exist) and routes that. */
  async #restore(app: string, before: AppState | undefined): Promise<void> {
    const restored = await this.#commit(() =>
      before === undefined ? { delete: [app] } : { put: [before] },
    );
    this.#syncWatches();
    await this.#applyTable(restored);
  }

  /** Restores after a failure; the original error is the one to report, so this only logs. */
  async #restoreQuietly(app: string, before: AppState | undefined): Promise<void> {
    try {
      await this.#restore(app, before);
    } catch (error) {
      this.#deps.logger.error({ err: error, app }, 'could not put back the state after a failure');
    }
  }

  /** Read-modify-write of the cached state, one at a time; a conflict reloads and retries once. */
  #commit(build: (state: DaemonState) => StateChange): Promise<DaemonState> {
    const run = async (): Promise<DaemonState> => {
      for (let attempt = 0; ; attempt += 1) {
        const state = this.#state;
        const change = build(state);
        try {
          const revision = await this.#deps.store.compareAndSwap(state.revision, change);
          const apps: Record<string, AppState> = { ...state.apps };
          for (const name of change.delete ?? []) delete apps[name];
          for (const app of change.put ?? []) apps[app.name] = app;
          this.#state = { revision, apps };
          return this.#state;
        } catch (error) {
          if (
            attempt > 0 ||
            !isCutoverError(error) ||
            error.code !== 'CUTOVER_ERR_STATE_CONFLICT'
          ) {
            throw error;
          }
          // Someone else wrote the store (another process): start again from what is stored.
          const loaded = await this.#deps.store.load();
          this.#state = loaded.state;
          this.#corrupt = loaded.corrupt;
        }
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #applyTable(state: DaemonState): Promise<void> {
    // Always the newest state: an older table would be ignored by the switch anyway.
    const newest = state.revision >= this.#state.revision ? state : this.#state;
    await this.#deps.traffic.apply(buildRoutingTable(newest));
  }

  /** Watches the instances of every color that holds a release, and only those. */
  #syncWatches(): void {
    const wanted = new Map<string, { addresses: string[]; spec: HealthCheckSpec }>();
    for (const app of Object.values(this.#state.apps)) {
      for (const color of COLORS) {
        const release = app.environments[color].release;
        if (release === null) continue;
        const addresses = release.instances.map((instance) => instance.address);
        const key = `${app.name}|${color}|${release.id}|${release.placedAt}|${addresses.join(',')}`;
        wanted.set(key, { addresses, spec: release.health });
      }
    }
    const before = new Set(this.#deps.health.snapshot().keys());
    for (const [key, unwatch] of this.#watches) {
      if (!wanted.has(key)) {
        unwatch();
        this.#watches.delete(key);
      }
    }
    for (const [key, { addresses, spec }] of wanted) {
      if (!this.#watches.has(key)) this.#watches.set(key, this.#deps.health.watch(addresses, spec));
    }
    const health = new Map(this.#deps.health.snapshot());
    // The router keeps the last verdict it heard; an address no longer checked must not stay
    // marked down there, or a later release on the same address would start out skipped.
    for (const address of before) if (!health.has(address)) health.set(address, true);
    this.#deps.traffic.setUpstreamHealth(health);
  }

  /** Instances that just passed a fresh rise are up for the router, whatever it heard before. */
  #markUp(addresses: readonly string[]): void {
    this.#deps.traffic.setUpstreamHealth(new Map(addresses.map((address) => [address, true])));
  }

  async #record(app: string, type: string, data: Record<string, unknown>): Promise<void> {
    try {
      await this.#deps.store.appendHistory({
        app,
        type,
        at: new Date(this.#deps.clock.nowMs()).toISOString(),
        data,
      });
    } catch (error) {
      // The mutation itself stands; losing its history line must not undo it.
      this.#deps.logger.error({ err: error, app, type }, 'could not append to the history');
    }
  }
}
