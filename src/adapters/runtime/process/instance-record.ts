// The record a process runtime keeps per instance, so a new daemon can re-adopt it: written
// atomically (temp file, fsync, rename, fsync of the directory), so a crash mid-write leaves
// the old record or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EnvValue } from '../../../core/app-config.ts';
import type { Color } from '../../../core/types.ts';

/**
 * Still 1 since the env became references: the new form only drops `env` for `envSources`, so an
 * earlier daemon refuses such a record (no `env`) rather than start an instance without its
 * secrets, and readers of the fields they share (the demo's cleanup) keep working.
 */
export const INSTANCE_RECORD_VERSION = 1;

export interface InstanceRecord {
  readonly version: typeof INSTANCE_RECORD_VERSION;
  readonly app: string;
  readonly release: string;
  readonly color: Color | null;
  readonly id: string;
  readonly pid: number;
  /** The process group: the instance was started as its leader, so it equals `pid`. */
  readonly pgid: number;
  readonly port: number;
  readonly host: string;
  /** /proc/<pid>/stat starttime: tells this process from a later one with the same pid. */
  readonly startTimeTicks: string;
  /** ISO-8601, for people. */
  readonly startedAt: string;
  readonly command: string;
  readonly dir: string;
  /**
   * How to rebuild the instance's env when an adopted instance is restarted after a crash:
   * literals as they are, secrets as their references (`fromFile` paths absolute), never a
   * secret's value (QUALITY.md D5: no secret in any state file).
   */
  readonly envSources: Readonly<Record<string, EnvValue>>;
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs: number;
  readonly logPath: string;
}

const RECORD_SUFFIX = '.json';

export function instanceRecordPath(appDir: string, id: string): string {
  return join(appDir, `${id}${RECORD_SUFFIX}`);
}

export async function writeInstanceRecord(appDir: string, record: InstanceRecord): Promise<void> {
  await mkdir(appDir, { recursive: true, mode: 0o700 });
  const target = instanceRecordPath(appDir, record.id);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(`${JSON.stringify(record, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The rename is durable only once the directory entry is.
  const dir = await open(appDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export async function removeInstanceRecord(appDir: string, id: string): Promise<void> {
  await rm(instanceRecordPath(appDir, id), { force: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEnvValue(value: unknown): value is EnvValue {
  if (!isPlainObject(value)) return false;
  if (value['kind'] === 'value') return typeof value['value'] === 'string';
  if (value['kind'] === 'fromEnv') return typeof value['name'] === 'string';
  if (value['kind'] === 'fromFile') return typeof value['path'] === 'string';
  return false;
}

/**
 * The record's env sources. Records written before the env became references hold the resolved
 * env under `env`, secrets included: it is still read so the instances an earlier version
 * started can be adopted, stopped and restarted after an upgrade. Its values can only be taken
 * as literals (nothing tells a secret from the rest), and the record is written in the new form,
 * without `env`, the next time it is written.
 */
function envSourcesOf(record: Record<string, unknown>): Record<string, EnvValue> | null {
  const sources = record['envSources'];
  if (sources !== undefined) {
    if (!isPlainObject(sources) || !Object.values(sources).every(isEnvValue)) return null;
    return sources as Record<string, EnvValue>;
  }
  const legacy = record['env'];
  if (!isPlainObject(legacy)) return null;
  const converted: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(legacy)) {
    if (typeof value !== 'string') return null;
    converted[name] = { kind: 'value', value };
  }
  return converted;
}

/** The record in `value` in its current form, or null when it is not one. */
function toInstanceRecord(value: unknown): InstanceRecord | null {
  if (!isPlainObject(value) || !hasRecordFields(value)) return null;
  const envSources = envSourcesOf(value);
  if (envSources === null) return null;
  const { env: _legacyEnv, ...rest } = value;
  return { ...(rest as Omit<InstanceRecord, 'envSources'>), envSources };
}

function hasRecordFields(record: Record<string, unknown>): boolean {
  return (
    record['version'] === INSTANCE_RECORD_VERSION &&
    typeof record['app'] === 'string' &&
    typeof record['release'] === 'string' &&
    typeof record['id'] === 'string' &&
    Number.isInteger(record['pid']) &&
    Number.isInteger(record['pgid']) &&
    Number.isInteger(record['port']) &&
    typeof record['host'] === 'string' &&
    typeof record['startTimeTicks'] === 'string' &&
    typeof record['command'] === 'string' &&
    typeof record['dir'] === 'string' &&
    typeof record['stopSignal'] === 'string' &&
    typeof record['stopTimeoutMs'] === 'number' &&
    typeof record['logPath'] === 'string'
  );
}

export interface ReadRecordsResult {
  readonly records: readonly InstanceRecord[];
  /** Files that are not a valid record, with why: reported, never fatal for the others. */
  readonly invalid: readonly { readonly path: string; readonly reason: string }[];
}

/** Every record in `appDir`; a missing directory holds none. Temp files are ignored. */
export async function readInstanceRecords(appDir: string): Promise<ReadRecordsResult> {
  let names: string[];
  try {
    names = await readdir(appDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], invalid: [] };
    throw error;
  }
  const records: InstanceRecord[] = [];
  const invalid: { path: string; reason: string }[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith(RECORD_SUFFIX)) continue;
    const path = join(appDir, name);
    try {
      const record = toInstanceRecord(JSON.parse(await readFile(path, 'utf8')));
      if (record !== null) records.push(record);
      else invalid.push({ path, reason: 'not an instance record of this version' });
    } catch (error) {
      // Removed since the listing (its instance was stopped meanwhile): gone, not invalid.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      invalid.push({ path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { records, invalid };
}
