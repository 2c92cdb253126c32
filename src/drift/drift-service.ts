// The drift check as a service of the daemon: the pipeline's drift-check step, the periodic
// re-snapshot of live colors, and the `cutover drift` report all go through it. It owns the
// salt and the snapshot files; the daemon creates one per data dir.
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type {
  DriftCheckReport,
  DriftComparison,
  DriftResponse,
  DriftSide,
} from '../client/api-types.ts';
import { parseAppConfigText } from '../config/load-app-config.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { AppState, Color } from '../core/types.ts';
import { otherColor } from '../core/types.ts';
import type { StateStore } from '../ports/state-store.ts';
import { collectSnapshot } from './collect-snapshot.ts';
import { diffSnapshots, driftRefusalReason, NO_RULES } from './drift-diff.ts';
import type { DriftSnapshot } from './drift-snapshot.ts';
import { createDriftStore } from './drift-store.ts';
import type { ColorSnapshots, DriftStore } from './drift-store.ts';
import { findDeployedRequest } from './live-request.ts';
import type { DeployedRequest } from './live-request.ts';

export interface DriftServiceOptions {
  readonly dataDir: string;
  readonly store: StateStore;
  /** The daemon's salt for secret hashes (drift-salt.ts). */
  readonly salt: Buffer;
  /** Where `{ fromEnv }` reads and what instances inherit (default: the daemon's env). */
  readonly environment?: NodeJS.ProcessEnv;
  readonly nowIso: () => string;
  readonly logger?: Logger;
  readonly versionTimeoutMs?: number;
}

/** The new release, as the drift-check step sees it. */
export interface DriftCheckInput {
  readonly app: string;
  readonly release: string;
  readonly dir: string;
  readonly configText: string;
  readonly configPath: string;
  readonly acceptDrift: readonly string[];
  /** The idle color the release goes into. */
  readonly color: Color;
  /** The app's state now (undefined for a first deployment of a new app). */
  readonly appState: AppState | undefined;
}

export interface DriftCheckOutcome {
  readonly report: DriftCheckReport;
  /** The refusal reason when drift stops the deployment; null: it proceeds. */
  readonly refusal: string | null;
}

export interface DriftService {
  /** The drift-check step: snapshot the new release, diff it against the live one. */
  check(input: DriftCheckInput): Promise<DriftCheckOutcome>;
  /** Re-snapshots the live color's release as it is now; null when it has no known config. */
  resnapshotLive(app: string, state: AppState): Promise<DriftSnapshot | null>;
  /** The live release's `drift.interval` (0: never), or null when unknown. */
  intervalOf(app: string, state: AppState): Promise<number | null>;
  /** `cutover drift`: the colors' latest snapshots and the live color's in-place changes. */
  report(app: string, state: AppState): Promise<DriftResponse>;
}

function liveOf(state: AppState | undefined): { color: Color; release: string } | null {
  if (state?.live === null || state === undefined) return null;
  const release = state.environments[state.live].release;
  return release === null ? null : { color: state.live, release: release.id };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function side(snapshot: DriftSnapshot, color: Color | null): DriftSide {
  return { release: snapshot.release, color, takenAt: snapshot.takenAt };
}

export function createDriftService(options: DriftServiceOptions): DriftService {
  const files: DriftStore = createDriftStore(options.dataDir);
  const configs = new Map<
    string,
    { readonly request: DeployedRequest; readonly config: AppConfig }
  >();

  function collect(release: string, dir: string, config: AppConfig): Promise<DriftSnapshot> {
    return collectSnapshot({
      release,
      dir,
      config,
      salt: options.salt,
      takenAt: options.nowIso(),
      ...(options.environment === undefined ? {} : { environment: options.environment }),
      ...(options.versionTimeoutMs === undefined
        ? {}
        : { versionTimeoutMs: options.versionTimeoutMs }),
    });
  }

  /** The live release's deployed folder and config, cached by app and release. */
  async function deployed(
    app: string,
    release: string,
  ): Promise<{ readonly request: DeployedRequest; readonly config: AppConfig } | null> {
    const key = `${app}/${release}`;
    const cached = configs.get(key);
    if (cached !== undefined) return cached;
    const request = await findDeployedRequest(options.store, app, release);
    if (request === null) return null;
    let config: AppConfig;
    try {
      config = parseAppConfigText(request.config, request.configPath);
    } catch {
      return null;
    }
    const found = { request, config };
    configs.set(key, found);
    return found;
  }

  /** Takes the live color's snapshot now and keeps it as its latest (and first, if none). */
  async function resnapshotLive(app: string, state: AppState): Promise<DriftSnapshot | null> {
    const live = liveOf(state);
    if (live === null) return null;
    const known = await deployed(app, live.release);
    if (known === null) return null;
    // A release folder removed after the deployment would read as every file missing: keep the
    // last snapshot instead of recording that as drift.
    if (!(await isDirectory(known.request.dir))) return null;
    const snapshot = await collect(live.release, known.request.dir, known.config);
    await files.update(app, (current) => {
      const held = current[live.color];
      const entry: ColorSnapshots =
        held?.release === live.release
          ? { ...held, latest: snapshot }
          : {
              release: live.release,
              started: snapshot,
              latest: snapshot,
              expect: known.config.drift.expect,
              accepted: [],
              enforce: known.config.drift.enforce,
            };
      return { ...current, [live.color]: entry };
    });
    return snapshot;
  }

  async function check(input: DriftCheckInput): Promise<DriftCheckOutcome> {
    const config = parseAppConfigText(input.configText, input.configPath);
    const live = liveOf(input.appState);
    // Both snapshots at once: each waits mostly on its interpreter's --version.
    const [next, current] = await Promise.all([
      collect(input.release, input.dir, config),
      live === null || input.appState === undefined
        ? null
        : resnapshotLive(input.app, input.appState).catch((error: unknown) => {
            options.logger?.warn(
              { err: error, app: input.app },
              'could not snapshot the live release',
            );
            return null;
          }),
    ]);
    let comparison: DriftComparison | null = null;
    let note: string | null = null;
    const enforced = config.drift.enforce;
    if (live === null) {
      note = 'first deployment: no live release to compare with';
    } else {
      const stored = (await files.read(input.app))[live.color];
      const baseline = current ?? (stored?.release === live.release ? stored.latest : null);
      if (baseline === null) {
        note = `the live release ${live.release} has no snapshot and no cutover.yaml on record: nothing to compare with`;
      } else {
        comparison = diffSnapshots(
          { side: side(baseline, live.color), snapshot: baseline },
          { side: side(next, null), snapshot: next },
          { expect: config.drift.expect, accept: input.acceptDrift },
        );
        if (!enforced && comparison.drift > 0) {
          note = `drift.enforce is false in ${input.release}'s cutover.yaml: differences are reported, not refused`;
        }
      }
    }
    const refused = enforced && comparison !== null && comparison.drift > 0;
    if (!refused) {
      await files.update(input.app, (current) => ({
        ...current,
        [input.color]: {
          release: input.release,
          started: next,
          latest: next,
          expect: config.drift.expect,
          accepted: [...input.acceptDrift],
          enforce: config.drift.enforce,
        },
      }));
    }
    options.logger?.info(
      {
        app: input.app,
        release: input.release,
        enforced,
        differences: comparison?.differences.map((each) => each.key) ?? [],
        drift: comparison?.drift ?? 0,
      },
      refused ? 'drift refused the deployment' : 'drift check passed',
    );
    return {
      report: { enforced, passed: !refused, note, comparison },
      refusal: refused && comparison !== null ? driftRefusalReason(comparison) : null,
    };
  }

  async function intervalOf(app: string, state: AppState): Promise<number | null> {
    const live = liveOf(state);
    if (live === null) return null;
    return (await deployed(app, live.release))?.config.drift.intervalMs ?? null;
  }

  async function report(app: string, state: AppState): Promise<DriftResponse> {
    const notes: string[] = [];
    const live = liveOf(state);
    if (live !== null) {
      const now = await resnapshotLive(app, state).catch((error: unknown) => {
        options.logger?.warn({ err: error, app }, 'could not snapshot the live release');
        return null;
      });
      if (now === null) {
        notes.push(
          `the live release ${live.release} could not be snapshotted now (its folder or its cutover.yaml is gone): its last snapshot is shown`,
        );
      }
    }
    const stored = await files.read(app);
    const liveEntry = live === null ? undefined : stored[live.color];
    const liveHeld = live !== null && liveEntry?.release === live.release ? liveEntry : null;
    if (live === null) notes.push('no color is live');
    else if (liveHeld === null) {
      notes.push(
        `the live release ${live.release} was never snapshotted (no cutover.yaml on record)`,
      );
    }
    let inPlace: DriftComparison | null = null;
    let colors: DriftComparison | null = null;
    if (live !== null && liveHeld !== null) {
      inPlace = diffSnapshots(
        { side: side(liveHeld.started, live.color), snapshot: liveHeld.started },
        { side: side(liveHeld.latest, live.color), snapshot: liveHeld.latest },
        NO_RULES,
      );
      const other = otherColor(live.color);
      const held = state.environments[other].release;
      const otherEntry = stored[other];
      if (held !== null && otherEntry?.release === held.id) {
        // The newer release's expectations judge the difference, as at its deployment.
        // Placed later is newer (a deployment in progress, past its drift check); else the live.
        const liveRelease = state.environments[live.color].release;
        const otherIsNewer = liveRelease !== null && held.placedAt > liveRelease.placedAt;
        const older = otherIsNewer
          ? { color: live.color, snapshot: liveHeld.latest }
          : { color: other, snapshot: otherEntry.started };
        const newer = otherIsNewer
          ? { color: other, entry: otherEntry, snapshot: otherEntry.started }
          : { color: live.color, entry: liveHeld, snapshot: liveHeld.latest };
        colors = diffSnapshots(
          { side: side(older.snapshot, older.color), snapshot: older.snapshot },
          { side: side(newer.snapshot, newer.color), snapshot: newer.snapshot },
          { expect: newer.entry.expect, accept: newer.entry.accepted },
        );
        if (colors.drift > 0 && !newer.entry.enforce) {
          notes.push(
            `drift.enforce is false in ${newer.entry.release}'s cutover.yaml: ` +
              'these differences were reported, not refused, when it was deployed',
          );
        }
      } else if (held !== null) {
        notes.push(`${other} holds ${held.id}, which was never snapshotted`);
      } else {
        notes.push(`${other} holds no release: nothing to compare the live color with`);
      }
    }
    return {
      app,
      live: liveHeld === null || live === null ? null : side(liveHeld.latest, live.color),
      colors,
      inPlace,
      drift: (colors?.drift ?? 0) + (inPlace?.drift ?? 0) > 0,
      notes,
    };
  }

  return { check, resnapshotLive, intervalOf, report };
}
