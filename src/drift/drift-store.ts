// Where snapshots are kept: one JSON file per app under `<data dir>/drift/` (mode 0600), written
// to a temp file, fsynced and renamed, so a crash leaves the old file or the new one, never a
// truncated one. Per color: the snapshot taken when its release started, and the latest one.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Color } from '../core/types.ts';
import { isDriftSnapshot } from './drift-snapshot.ts';
import type { DriftSnapshot } from './drift-snapshot.ts';

/** What is known of one color's release. */
export interface ColorSnapshots {
  readonly release: string;
  /** Taken by the drift check, before its instances started. */
  readonly started: DriftSnapshot;
  /** The latest re-snapshot of the live color (`started` until one is taken). */
  readonly latest: DriftSnapshot;
  /** The release's `drift.expect` and the deployer's `--accept-drift`, for later reports. */
  readonly expect: readonly string[];
  readonly accepted: readonly string[];
  /** Its `drift.enforce`: whether drift refused its deployment, or was only reported. */
  readonly enforce: boolean;
}

export type AppSnapshots = Partial<Record<Color, ColorSnapshots>>;

export interface DriftStore {
  read(app: string): Promise<AppSnapshots>;
  /** Applies `change` to the app's record, one change at a time per store. */
  update(app: string, change: (current: AppSnapshots) => AppSnapshots): Promise<AppSnapshots>;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((each) => typeof each === 'string');
}

function decodeColorSnapshots(value: unknown): ColorSnapshots | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (
    typeof v.release !== 'string' ||
    !isDriftSnapshot(v.started) ||
    !isDriftSnapshot(v.latest) ||
    !isStrings(v.expect) ||
    !isStrings(v.accepted)
  ) {
    return null;
  }
  return {
    release: v.release,
    started: v.started,
    latest: v.latest,
    expect: v.expect,
    accepted: v.accepted,
    // Files written before `drift.enforce` existed have none: drift is refused by default.
    enforce: typeof v.enforce === 'boolean' ? v.enforce : true,
  };
}

/** Keeps what reads well; a damaged color entry is dropped (it is taken again at the next check). */
export function decodeAppSnapshots(text: string): AppSnapshots {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  const out: { -readonly [C in Color]?: ColorSnapshots } = {};
  if (parsed === null || typeof parsed !== 'object') return out;
  for (const color of ['blue', 'green'] as const) {
    const entry = decodeColorSnapshots((parsed as Record<string, unknown>)[color]);
    if (entry !== null) out[color] = entry;
  }
  return out;
}

export function createDriftStore(dataDir: string): DriftStore {
  const dir = join(dataDir, 'drift');
  let queue: Promise<unknown> = Promise.resolve();
  const pathOf = (app: string): string => join(dir, `${app}.json`);

  async function read(app: string): Promise<AppSnapshots> {
    try {
      return decodeAppSnapshots(await readFile(pathOf(app), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
  }

  async function write(app: string, snapshots: AppSnapshots): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${pathOf(app)}.${process.pid}.tmp`;
    const file = await open(temp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(snapshots, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, pathOf(app));
    // The rename is durable once the directory is synced.
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  return {
    read,
    update(app, change) {
      const run = async (): Promise<AppSnapshots> => {
        const next = change(await read(app));
        await write(app, next);
        return next;
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
  };
}
