// The record a process runtime keeps per instance, so a new daemon can re-adopt it: written
// atomically (temp file, fsync, rename, fsync of the directory), so a crash mid-write leaves
// the old record or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Color } from '../../../core/types.ts';

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
  /** Kept so an adopted instance can be restarted after a crash; the file is mode 0600. */
  readonly env: Readonly<Record<string, string>>;
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

function isInstanceRecord(value: unknown): value is InstanceRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
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
    typeof record['env'] === 'object' &&
    record['env'] !== null &&
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
      const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
      if (isInstanceRecord(parsed)) records.push(parsed);
      else invalid.push({ path, reason: 'not an instance record of this version' });
    } catch (error) {
      invalid.push({ path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { records, invalid };
}
