// The deployment pipeline, driven: the pure state machine of core/deployment gives the next
// state and its effects; this runner persists the state, then runs the effects and feeds their
// outcome back as an event. Once-only effects (start-instances, flip, flip-back) are journaled
// by idempotency key, so a daemon restarted after kill -9 resumes without running one twice
// (DESIGN.md pipeline; QUALITY.md E1, E2, E4, E6).
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type {
  DeploymentListResponse,
  DeploymentReport,
  DeploymentView,
  StartDeploymentRequest,
} from '../client/api-types.ts';
import { parseAppConfigText } from '../config/load-app-config.ts';
import type { AppConfig, Strategy } from '../core/app-config.ts';
import { validateAppName, validateReleaseId } from '../core/app-state.ts';
import type { Effect } from '../core/deployment/deployment-effects.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import {
  createDeployment,
  isOutcome,
  isPreFlipStep,
  strategyOf,
} from '../core/deployment/deployment-state.ts';
import type { DeploymentState } from '../core/deployment/deployment-state.ts';
import { transition } from '../core/deployment/transition.ts';
import { CutoverError, isCutoverError } from '../core/errors.ts';
import type { Color } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { MigrationTarget } from '../ports/database.ts';
import type { SchemaRelease } from './schema-steps.ts';
import type { AdoptedInstance, Runtime } from '../ports/runtime.ts';
import type { DeploymentRecord, StateStore } from '../ports/state-store.ts';
import type { TrafficSwitch } from '../ports/traffic-switch.ts';
import type { HealthChecker } from '../probes/health-checker.ts';
import { holdAppLock } from './app-lock.ts';
import type { HeldLock } from './app-lock.ts';
import { toDeploymentView } from './deployment-view.ts';
import { contractAfterRetirement } from './migrations-admin.ts';
import type { PipelineHost } from './pipeline-host.ts';
import { runPipelineEffect } from './pipeline-effects.ts';
import type { EffectContext } from './pipeline-effects.ts';

/** What a deployment record's `request` holds: enough to resume after a restart. */
export interface StoredDeploymentRequest {
  readonly release: string;
  readonly dir: string;
  readonly config: string;
  readonly configPath: string;
  readonly instances?: readonly string[];
  /** `cutover deploy --strategy`: overrides the config's `strategy` for this deployment. */
  readonly strategy?: Strategy;
  /** `cutover deploy --accept-drift KEY`: snapshot keys allowed to differ this once. */
  readonly acceptDrift?: readonly string[];
  /** `cutover deploy --mirror`: mirror live requests to the idle color from warm-up to the flip. */
  readonly mirror?: boolean;
}

/** The config a finished deployment was deployed with; null when it no longer parses. */
function storedConfigOf(record: DeploymentRecord): AppConfig | null {
  const request = record.request as unknown as StoredDeploymentRequest;
  try {
    return parseAppConfigText(request.config, request.configPath);
  } catch {
    return null;
  }
}

/** The release's config with this deployment's overrides (strategy, mirroring) applied. */
export function deploymentConfig(request: StoredDeploymentRequest): AppConfig {
  const config = parseAppConfigText(request.config, request.configPath);
  return {
    ...config,
    strategy: request.strategy ?? config.strategy,
    mirror: request.mirror === true ? { ...config.mirror, enabled: true } : config.mirror,
  };
}

export interface DeploymentRunnerDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly traffic: TrafficSwitch;
  readonly health: HealthChecker;
  readonly host: PipelineHost;
  readonly runtimes: { readonly process: Runtime | null; readonly external: Runtime };
  /** The public and preview listeners' base URLs (`http://127.0.0.1:8080`). */
  readonly urls: () => { readonly public: string; readonly preview: string };
  readonly lock: { readonly ttlMs: number; readonly renewMs: number };
  /** Instances a restarted daemon found still running, for reconciling an interrupted start. */
  readonly adopted?: () => readonly AdoptedInstance[];
  /** Where `{ fromEnv }` secrets are read (default: the daemon's environment). */
  readonly environment?: NodeJS.ProcessEnv;
  /** Test hook: called at every step boundary with its name (kill -9 tests). */
  readonly failpoint?: (name: string) => void;
  /** Opens an app's database for the schema steps (issue 4). */
  readonly openDatabase?: (url: string) => Promise<MigrationTarget>;
}

interface Active {
  record: DeploymentRecord;
  readonly config: AppConfig;
  lock: HeldLock | null;
  /** Aborted to interrupt the running effect (an abort request, or shutdown). */
  effectAbort: AbortController;
  pendingAbort: DeploymentEvent | null;
  /** Aborted by `cutover promote` while shifting: the running shift skips to the flip. */
  readonly promote: AbortController;
  waitingFor: string | null;
  done: Promise<void>;
  /** Saves of this deployment's record, one at a time, each on the latest record. */
  saving: Promise<void>;
}

const MAX_CONFIG_CHARS = 256 * 1024;
/** How long a shutdown waits for the running effects to notice it. */
const STOP_WAIT_MS = 2_000;
/** Pause before a crashed step is reported, so a step the machine retries never spins. */
const CRASH_RETRY_PAUSE_MS = 500;

export class DeploymentRunner {
  readonly #deps: DeploymentRunnerDeps;
  readonly #active = new Map<string, Active>();
  readonly #retirements = new Map<string, NodeJS.Timeout>();
  #stopping = false;

  constructor(deps: DeploymentRunnerDeps) {
    this.#deps = deps;
  }

  /** The app's running deployment, if any. */
  runningOf(app: string): DeploymentView | null {
    for (const active of this.#active.values()) {
      if (active.record.app === app) return toDeploymentView(active.record, active.waitingFor);
    }
    return null;
  }

  /** Validates, takes the app's lock, persists the deployment and starts it; resolves once started. */
  async start(app: string, req: StartDeploymentRequest, actor: string): Promise<DeploymentView> {
    validateAppName(app);
    validateReleaseId(req.release);
    if (typeof req.config !== 'string' || req.config.length > MAX_CONFIG_CHARS) {
      throw new CutoverError('CUTOVER_ERR_USAGE', 'config: expected the text of cutover.yaml.');
    }
    const configPath = req.configPath ?? 'cutover.yaml';
    const config = deploymentConfig({ ...req, configPath });
    if (config.app !== app) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `${configPath} is for app "${config.app}", not "${app}": deploy it as ${config.app}.`,
        { field: 'app' },
      );
    }
    this.#checkRuntime(config, req);
    await assertReleaseDir(req.dir, config);
    if (this.#stopping) {
      throw new CutoverError(
        'CUTOVER_ERR_DAEMON_UNREACHABLE',
        'The daemon is shutting down; deploy again once it is back.',
      );
    }
    const id = `d-${randomUUID().slice(0, 8)}`;
    const holder = `${actor} (deploy ${req.release}, ${id})`;
    const lock = await holdAppLock(this.#deps, app, holder, this.#deps.lock);
    try {
      const request: StoredDeploymentRequest = {
        release: req.release,
        dir: req.dir,
        config: req.config,
        configPath,
        ...(req.instances === undefined ? {} : { instances: [...req.instances] }),
        ...(req.strategy === undefined ? {} : { strategy: req.strategy }),
        ...(req.acceptDrift === undefined ? {} : { acceptDrift: [...req.acceptDrift] }),
        ...(req.mirror === undefined ? {} : { mirror: req.mirror }),
      };
      const state = createDeployment({
        id,
        app,
        release: req.release,
        requestedAt: this.#nowIso(),
        autoRollback: config.switch.autoRollback,
        strategy: config.strategy,
      });
      const record: DeploymentRecord = {
        id,
        app,
        active: true,
        state,
        request: request as unknown as Record<string, unknown>,
        report: {},
        requestedBy: holder,
      };
      await this.#deps.store.saveDeployment(record);
      const active: Active = {
        record,
        config,
        lock,
        effectAbort: new AbortController(),
        pendingAbort: null,
        promote: new AbortController(),
        waitingFor: null,
        done: Promise.resolve(),
        saving: Promise.resolve(),
      };
      this.#active.set(id, active);
      await this.#deps.host.record(app, 'deployment-started', {
        deployment: id,
        release: req.release,
        actor,
      });
      // The lock is held: the first transition leaves `locking` before anything else runs.
      const first = transition(state, { type: 'LockAcquired', at: this.#nowIso() });
      await this.#persist(active, first.state);
      active.done = this.#drive(active, first.effects);
      return toDeploymentView(active.record, active.waitingFor);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Retires the standby after the rollback window (`standby.after: stop`): its instances stop and
   * the color empties, unless it is no longer that release's standby or a deployment holds the app.
   */
  #scheduleRetire(app: string, color: Color, release: string, afterMs: number): void {
    const key = `${app}/${color}`;
    clearTimeout(this.#retirements.get(key));
    const timer = setTimeout(
      () => {
        this.#retirements.delete(key);
        void this.#retire(app, color, release).catch((error: unknown) => {
          this.#deps.logger.error({ err: error, app, color }, 'could not retire the standby');
        });
      },
      Math.max(0, afterMs),
    );
    timer.unref();
    this.#retirements.set(key, timer);
  }

  async #retire(app: string, color: Color, release: string): Promise<void> {
    if (this.#stopping) return;
    const state = this.#deps.host.appState(app);
    const held = state?.environments[color].release ?? null;
    if (state === undefined || state.standby !== color || held === null || held.id !== release) {
      return;
    }
    let lock: HeldLock;
    try {
      lock = await holdAppLock(
        this.#deps,
        app,
        `standby retirement (${app} ${color})`,
        this.#deps.lock,
      );
    } catch {
      return; // A deployment holds the app: it replaces the standby itself.
    }
    try {
      const now = this.#deps.host.appState(app);
      const still = now?.environments[color].release ?? null;
      if (now === undefined || now.standby !== color || still === null || still.id !== release)
        return;
      await this.#deps.runtimes.process?.stop(app, still.instances);
      await this.#deps.host.clearColor(app, color);
      await this.#deps.host.record(app, 'standby-retired', {
        color,
        release,
        reason: 'the rollback window ended',
      });
      // Issue 4: no color but the live one may use the old schema now (migrations.contract).
      await contractAfterRetirement({
        openDatabase: this.#deps.openDatabase,
        environment: this.#deps.environment,
        logger: this.#deps.logger,
        appState: () => this.#deps.host.appState(app),
        liveRelease: () => this.liveRelease(app),
        record: (type, data) => this.#deps.host.record(app, type, data),
      });
    } finally {
      await lock.release();
    }
  }

  /**
   * After a manual flip or rollback the old live color is the new standby: it gets the rollback
   * window of the live release's config (`standby.after: stop`), like a deployment's standby.
   */
  async retireStandbyLater(app: string): Promise<void> {
    const state = this.#deps.host.appState(app);
    if (state === undefined || state.standby === null || state.live === null) return;
    const held = state.environments[state.standby].release;
    const liveRelease = state.environments[state.live].release?.id;
    if (held === null) return;
    const records = await this.#deps.store.listDeployments({ app, limit: 50 });
    const record =
      records.find(
        (each) => each.state.step === 'succeeded' && each.state.release === liveRelease,
      ) ?? records.find((each) => each.state.step === 'succeeded');
    if (record === undefined) return;
    const config = storedConfigOf(record);
    if (config?.standby.after !== 'stop') return;
    this.#scheduleRetire(app, state.standby, held.id, config.standby.rollbackWindowMs);
  }

  /** The release live now, with the folder and config it was deployed with. */
  async liveRelease(app: string): Promise<SchemaRelease | null> {
    const state = this.#deps.host.appState(app);
    const live =
      state?.live === null || state === undefined ? null : state.environments[state.live].release;
    if (live === null) return null;
    const records = await this.#deps.store.listDeployments({ app, limit: 100 });
    const record = records.find(
      (each) => each.state.step === 'succeeded' && each.state.release === live.id,
    );
    if (record === undefined) return null;
    const config = storedConfigOf(record);
    if (config === null) return null;
    const request = record.request as unknown as StoredDeploymentRequest;
    return { release: live.id, dir: request.dir, config };
  }

  /** After a restart: the standbys of the last successful deployments get their timers again. */
  async #rescheduleRetirements(): Promise<void> {
    const records = await this.#deps.store.listDeployments({ active: false, limit: 200 });
    const seen = new Set<string>();
    for (const record of records) {
      if (seen.has(record.app)) continue;
      seen.add(record.app);
      const { state } = record;
      if (state.step !== 'succeeded' || state.from === null) continue;
      const config = storedConfigOf(record);
      if (config?.standby.after !== 'stop') continue;
      const app = this.#deps.host.appState(record.app);
      const held = app?.environments[state.from].release ?? null;
      if (app?.standby !== state.from || held === null) continue;
      const endsMs = Date.parse(state.stepStartedAt) + config.standby.rollbackWindowMs;
      this.#scheduleRetire(record.app, state.from, held.id, endsMs - this.#deps.clock.nowMs());
    }
  }

  /** Picks up every deployment a previous daemon left running. Call once, after the routing state is applied. */
  async resumeAll(): Promise<void> {
    await this.#rescheduleRetirements().catch((error: unknown) => {
      this.#deps.logger.error({ err: error }, 'could not schedule the standby retirements');
    });
    const records = await this.#deps.store.listDeployments({ active: true, limit: 1000 });
    for (const record of records) {
      try {
        await this.#resume(record);
      } catch (error) {
        this.#deps.logger.error(
          { err: error, deployment: record.id, app: record.app },
          'could not resume the deployment',
        );
      }
    }
  }

  async #resume(record: DeploymentRecord): Promise<void> {
    const request = record.request as unknown as StoredDeploymentRequest;
    const config = deploymentConfig(request);
    const active: Active = {
      record,
      config,
      lock: null,
      effectAbort: new AbortController(),
      pendingAbort: null,
      promote: new AbortController(),
      waitingFor: null,
      done: Promise.resolve(),
      saving: Promise.resolve(),
    };
    this.#active.set(record.id, active);
    // The dead daemon's lock carries this deployment's holder: take it over, refuse no one else.
    active.lock = await holdAppLock(this.#deps, record.app, record.requestedBy, this.#deps.lock, {
      takeOverFrom: record.requestedBy,
    });
    this.#deps.logger.warn(
      { deployment: record.id, app: record.app, step: record.state.step },
      'resuming the deployment the previous daemon left running',
    );
    await this.#deps.host.record(record.app, 'deployment-resumed', {
      deployment: record.id,
      release: record.state.release,
      step: record.state.step,
    });
    const resumed = transition(record.state, { type: 'Resumed', at: this.#nowIso() });
    // An abort acknowledged before the crash is applied first (a flip in progress honors it
    // itself once committed).
    const step = record.state.step;
    if (record.state.promoteRequested === true) active.promote.abort(new Error('promoted'));
    if (
      record.state.abortRequested &&
      (step === 'verifying' || step === 'shifting' || step === 'locking' || isPreFlipStep(step))
    ) {
      active.pendingAbort = {
        type: 'AbortRequested',
        by: `${/^aborted by (.*) at step "[^"]*"$/.exec(record.state.reason ?? '')?.[1] ?? 'a request'} (before the daemon restarted)`,
        at: this.#nowIso(),
      };
    }
    await this.#persist(active, resumed.state);
    active.done = this.#drive(active, resumed.effects, true);
  }

  async get(id: string): Promise<DeploymentView> {
    const active = this.#active.get(id);
    if (active !== undefined) return toDeploymentView(active.record, active.waitingFor);
    const record = await this.#deps.store.getDeployment(id);
    if (record === null) {
      throw new CutoverError('CUTOVER_ERR_DEPLOY_NOT_FOUND', `No deployment has the id ${id}.`, {
        deployment: id,
      });
    }
    return toDeploymentView(record);
  }

  async list(query: { app?: string; limit?: number }): Promise<DeploymentListResponse> {
    const records = await this.#deps.store.listDeployments(query);
    return {
      deployments: records.map((record) =>
        toDeploymentView(record, this.#active.get(record.id)?.waitingFor ?? null),
      ),
    };
  }

  /** Aborts a running deployment; it then ends on its own (cleaned up or flipped back). */
  async abort(id: string, by: string, reason?: string): Promise<DeploymentView> {
    const active = this.#active.get(id);
    if (active === undefined) {
      const stored = await this.#deps.store.getDeployment(id);
      if (stored === null) {
        throw new CutoverError('CUTOVER_ERR_DEPLOY_NOT_FOUND', `No deployment has the id ${id}.`, {
          deployment: id,
        });
      }
      throw new CutoverError(
        'CUTOVER_ERR_DEPLOY_ENDED',
        `Deployment ${id} of ${stored.app} has already ended (${stored.state.step}).`,
        { deployment: id },
      );
    }
    const event: DeploymentEvent = {
      type: 'AbortRequested',
      by: reason === undefined ? by : `${by} (${reason})`,
      at: this.#nowIso(),
    };
    // Refuses here (too late, already ending) without changing anything.
    transition(active.record.state, event);
    if (active.pendingAbort === null) {
      active.pendingAbort = event;
      // Stored before it is acknowledged: a daemon killed right after still honors it.
      await this.#save(active, (record) =>
        active.pendingAbort === event
          ? {
              ...record,
              state: {
                ...record.state,
                abortRequested: true,
                reason: `aborted by ${event.by} at step "${record.state.step}"`,
              },
            }
          : record,
      );
      // The flip itself is never interrupted: the abort is honored once it is committed.
      if (active.pendingAbort === event && active.record.state.step !== 'flipping') {
        active.effectAbort.abort(new Error('aborted'));
      }
    }
    return toDeploymentView(active.record, `abort requested by ${event.by}`);
  }

  /**
   * `cutover promote`: the app's deployment that shifts traffic in steps (canary) skips the
   * remaining steps and goes on to the flip. Refused unless a deployment of the app is shifting.
   */
  async promoteApp(app: string, by: string): Promise<DeploymentView> {
    let active: Active | undefined;
    for (const each of this.#active.values()) if (each.record.app === app) active = each;
    if (active === undefined) {
      throw new CutoverError(
        'CUTOVER_ERR_DEPLOY_NOT_SHIFTING',
        `App "${app}" has no deployment running; nothing to promote. Deploy with --strategy canary to promote one.`,
        { app },
      );
    }
    const { state } = active.record;
    if (strategyOf(state) !== 'canary' || state.step !== 'shifting') {
      throw new CutoverError(
        'CUTOVER_ERR_DEPLOY_NOT_SHIFTING',
        strategyOf(state) === 'canary'
          ? `Deployment ${state.id} of ${app} is at step "${state.step}", not at a canary step; only a canary step can be promoted.`
          : `Deployment ${state.id} of ${app} is ${strategyOf(state)} (step "${state.step}"): it has no canary steps to skip; only a canary can be promoted.`,
        { app, deployment: state.id, step: state.step },
      );
    }
    const at = this.#nowIso();
    const event: DeploymentEvent = { type: 'PromoteRequested', by, at };
    transition(state, event);
    if (!active.promote.signal.aborted) {
      const held = active;
      // Stored before it is acknowledged: a daemon killed right after still honors it.
      await this.#save(held, (record) =>
        record.state.step === 'shifting' && record.state.promoteRequested !== true
          ? { ...record, state: transition(record.state, event).state }
          : record,
      );
      await this.#report(held, { promoted: { by, at, shiftIndex: state.shiftIndex ?? 0 } });
      await this.#deps.host.record(app, 'deployment-promoted', {
        deployment: state.id,
        release: state.release,
        by,
        shiftIndex: state.shiftIndex ?? 0,
      });
      held.promote.abort(new Error('promoted'));
    }
    return toDeploymentView(
      active.record,
      `the flip to ${state.to ?? 'the new color'} (promoted by ${by})`,
    );
  }

  async abortApp(app: string, by: string, reason?: string): Promise<DeploymentView> {
    for (const active of this.#active.values()) {
      if (active.record.app === app) return this.abort(active.record.id, by, reason);
    }
    throw new CutoverError(
      'CUTOVER_ERR_DEPLOY_NOT_FOUND',
      `App "${app}" has no deployment running; nothing to abort.`,
      { app },
    );
  }

  /** Stops driving (daemon shutdown): running effects are interrupted, states stay stored. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const timer of this.#retirements.values()) clearTimeout(timer);
    this.#retirements.clear();
    for (const active of this.#active.values()) active.effectAbort.abort(new Error('shutdown'));
    // A drain or a flip in progress is not interrupted; shutdown waits for it a little only.
    const waited = Promise.all([...this.#active.values()].map((active) => active.done));
    const timeout = new AbortController();
    const slept = this.#deps.clock.sleep(STOP_WAIT_MS, timeout.signal).catch(() => undefined);
    await Promise.race([waited, slept]);
    timeout.abort();
    // The next start takes the deployments up again with their own holder names.
    await Promise.all(
      [...this.#active.values()].map((active) =>
        active.lock === null ? Promise.resolve() : active.lock.release(),
      ),
    );
  }

  /** Waits for the deployment to end (tests and the drill). */
  async settled(id: string): Promise<void> {
    await this.#active.get(id)?.done;
  }

  #checkRuntime(config: AppConfig, req: StartDeploymentRequest): void {
    if (config.runtime === 'external') {
      if (req.instances === undefined || req.instances.length === 0) {
        throw new CutoverError(
          'CUTOVER_ERR_USAGE',
          `app ${config.app} uses the external runtime: pass the addresses where the release runs (--instances host:port,...).`,
          { field: 'instances' },
        );
      }
      return;
    }
    if (this.#deps.runtimes.process === null) {
      throw new CutoverError(
        'CUTOVER_ERR_CONFIG_INVALID',
        'This daemon has no process runtime; use runtime: external.',
        { field: 'runtime' },
      );
    }
    if (req.instances !== undefined) {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        `app ${config.app} uses the process runtime: cutover starts its instances, so --instances does not apply.`,
        { field: 'instances' },
      );
    }
  }

  /** Runs effects, turns their outcome into the next event, persists, repeats until the end. */
  async #drive(active: Active, initial: readonly Effect[], resumed = false): Promise<void> {
    let effects = initial;
    let resuming = resumed;
    try {
      while (!isOutcome(active.record.state.step)) {
        if (this.#stopping) return;
        if (active.pendingAbort !== null) {
          // The abort arrived between two steps: apply it to the step we are at now.
          const taken = await this.#applyAbortBetweenSteps(active);
          if (taken !== null && (taken.length > 0 || isOutcome(active.record.state.step))) {
            effects = taken;
            continue;
          }
        }
        const signal = active.effectAbort.signal;
        let event: DeploymentEvent | null = null;
        for (const effect of effects) {
          if (signal.aborted && active.pendingAbort !== null) break;
          event = (await this.#runEffect(active, effect, signal, resuming)) ?? event;
          this.#failpoint(`effect-done:${effect.kind}`);
          if (this.#stopping) return;
        }
        resuming = false;
        const events: DeploymentEvent[] = [];
        if (active.pendingAbort !== null) {
          events.push(active.pendingAbort);
          active.pendingAbort = null;
          active.effectAbort = new AbortController();
          // A committed flip is a fact the abort must see: it then flips back.
          if (event !== null && event.type === 'FlipCommitted') events.push(event);
        } else if (event !== null) {
          events.push(event);
        } else {
          throw new CutoverError(
            'CUTOVER_ERR_INTERNAL',
            `step "${active.record.state.step}" produced no outcome`,
          );
        }
        let state = active.record.state;
        let next: readonly Effect[] = [];
        for (const each of events) {
          let result;
          try {
            result = transition(state, each);
          } catch (error) {
            // An abort checked against the step before: too late for this one; it goes on.
            if (each.type !== 'AbortRequested' || events.length === 1 || event === null)
              throw error;
            continue;
          }
          state = result.state;
          next = result.effects;
        }
        await this.#persist(active, state);
        effects = next;
      }
    } catch (error) {
      if (this.#stopping) return;
      this.#deps.logger.error(
        { err: error, deployment: active.record.id, app: active.record.app },
        'the deployment runner failed; the deployment stays stored and resumes at the next start',
      );
      return;
    } finally {
      // A deployment the runner could not finish stays listed (status tells the truth) and
      // stored as active: the next daemon start resumes it.
      if (isOutcome(active.record.state.step)) this.#active.delete(active.record.id);
    }
    await this.#ended(active);
  }

  /**
   * Applies a pending abort to the current step. Returns its effects, or null when it no longer
   * applies (the step moved past the point of abort): the abort is dropped and the step runs.
   */
  async #applyAbortBetweenSteps(active: Active): Promise<readonly Effect[] | null> {
    const abort = active.pendingAbort;
    active.pendingAbort = null;
    active.effectAbort = new AbortController();
    if (abort === null) return null;
    let result;
    try {
      result = transition(active.record.state, abort);
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, deployment: active.record.id },
        'the abort came too late for the step the deployment reached; it goes on',
      );
      return null;
    }
    await this.#persist(active, result.state);
    return result.effects;
  }

  /** One effect; an effect that throws becomes StepCrashed (a pre-flip failure or a retry). */
  async #runEffect(
    active: Active,
    effect: Effect,
    signal: AbortSignal,
    resuming: boolean,
  ): Promise<DeploymentEvent | null> {
    const context: EffectContext = {
      ...this.#deps,
      state: active.record.state,
      config: active.config,
      request: active.record.request as unknown as StoredDeploymentRequest,
      signal,
      promote: active.promote.signal,
      resuming,
      lock: {
        release: async () => {
          const held = active.lock;
          active.lock = null;
          await held?.release();
        },
      },
      report: (patch: Partial<DeploymentReport>) => this.#report(active, patch),
      waiting: (text: string | null) => {
        active.waitingFor = text;
      },
      nowIso: () => this.#nowIso(),
      scheduleRetire: (app, color, release, afterMs) => {
        this.#scheduleRetire(app, color, release, afterMs);
      },
      liveRelease: () => this.liveRelease(active.record.app),
    };
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await runPipelineEffect(effect, context);
      } catch (error) {
        if (signal.aborted && active.pendingAbort !== null) return null;
        if (this.#stopping) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        this.#deps.logger.error(
          { err: error, deployment: active.record.id, effect: effect.key },
          'a deployment step failed',
        );
        // Flips, drains and clean-up must finish: a few retries, then the crash event retries
        // them again through the state machine (with the same keys).
        if (!effect.repeatable || attempt >= 2) {
          // The state machine may retry the step at once (a flip back): not in a tight loop.
          await this.#deps.clock.sleep(CRASH_RETRY_PAUSE_MS);
          return { type: 'StepCrashed', reason, at: this.#nowIso() };
        }
        await this.#deps.clock.sleep(200 * (attempt + 1));
      }
    }
  }

  /** Saves `build(latest record)` after any save still in flight; the record kept is the saved one. */
  #save(active: Active, build: (record: DeploymentRecord) => DeploymentRecord): Promise<void> {
    const run = async (): Promise<void> => {
      const record = build(active.record);
      await this.#deps.store.saveDeployment(record);
      active.record = record;
    };
    const saved = active.saving.then(run, run);
    active.saving = saved.catch(() => undefined);
    return saved;
  }

  async #persist(active: Active, state: DeploymentState): Promise<void> {
    const before = active.record.state;
    await this.#save(active, (record) => {
      // An abort acknowledged while this step ran, not yet applied: it stays on record.
      const pending = active.pendingAbort !== null && record.state.abortRequested;
      let next = pending ? { ...state, abortRequested: true, reason: record.state.reason } : state;
      // A promote taken while the shift ran stays on record until the shift ends.
      if (next.step === 'shifting' && active.promote.signal.aborted) {
        next = { ...next, promoteRequested: true };
      }
      return { ...record, state: next, active: !isOutcome(state.step) };
    });
    active.waitingFor = null;
    for (const step of state.steps.slice(before.steps.length)) {
      if (step.step === 'locking') continue;
      await this.#deps.host.record(active.record.app, 'deployment-step', {
        deployment: active.record.id,
        release: state.release,
        step: step.step,
        durationMs: Math.max(0, Date.parse(step.endedAt) - Date.parse(step.startedAt)),
        next: state.step,
      });
    }
    this.#failpoint(`persisted:${state.step}`);
  }

  async #report(active: Active, patch: Partial<DeploymentReport>): Promise<void> {
    await this.#save(active, (record) => ({ ...record, report: { ...record.report, ...patch } }));
  }

  async #ended(active: Active): Promise<void> {
    const view = toDeploymentView(active.record);
    this.#deps.logger.info(
      {
        deployment: view.id,
        app: view.app,
        release: view.release,
        outcome: view.outcome,
        reason: view.reason,
      },
      'deployment ended',
    );
    await this.#deps.host.record(view.app, 'deployment-ended', {
      deployment: view.id,
      release: view.release,
      outcome: view.outcome,
      reason: view.reason,
      from: view.from,
      to: view.to,
      steps: view.steps.map((step) => ({ step: step.step, durationMs: step.durationMs })),
      flip: view.report.flip ?? null,
      verify:
        view.report.verify === undefined
          ? null
          : {
              ok: view.report.verify.ok,
              probes: view.report.verify.probes,
              failedProbes: view.report.verify.failedProbes,
              reason: view.report.verify.reason,
            },
    });
  }

  #failpoint(name: string): void {
    this.#deps.failpoint?.(name);
  }

  #nowIso(): string {
    return new Date(this.#deps.clock.nowMs()).toISOString();
  }
}

/**
 * The release's folder must exist before anything is touched: the resolve step retires the
 * standby, which a deployment doomed from the start must not cost.
 */
async function assertReleaseDir(dir: string, config: AppConfig): Promise<void> {
  if (typeof dir !== 'string' || !isAbsolute(dir)) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `dir: expected the absolute path of the release's folder, got "${String(dir)}".`,
      { field: 'dir' },
    );
  }
  if (config.runtime !== 'process') return;
  const cwd = resolve(dir, config.cwd);
  const info = await stat(cwd).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `The release folder ${cwd} does not exist on the daemon's host (or is not a folder): deploy from the folder that holds the release, or pass --dir.`,
      { field: 'dir', dir: cwd },
    );
  }
}

export function isDeploymentError(error: unknown): boolean {
  return isCutoverError(error) && error.code.startsWith('CUTOVER_ERR_DEPLOY_');
}
