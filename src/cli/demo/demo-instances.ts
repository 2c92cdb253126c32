// Stops the app instances the daemon's process runtime started for the demo. They are detached
// from the daemon by design (they outlive a daemon restart), so stopping the daemon leaves them
// running: the demo finds the runtime's instance records under its temporary data dir and ends
// each recorded process group, politely (SIGTERM) then firmly (SIGKILL). The CLI may not import
// the runtime adapter, so this reads the record's few fields it needs itself.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The record fields this needs (src/adapters/runtime/process/instance-record.ts, version 1). */
export interface RecordedInstance {
  readonly path: string;
  readonly pid: number;
  readonly pgid: number;
  readonly startTimeTicks: string;
}

const RECORD_VERSION = 1;
/** The runtime keeps its records a few levels under the data dir (state dir / app / id.json). */
const MAX_SCAN_DEPTH = 4;
const STOP_TIMEOUT_MS = 5_000;
const POLL_MS = 50;

function asRecordedInstance(path: string, value: unknown): RecordedInstance | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const { version, pid, pgid, startTimeTicks } = record;
  if (
    version !== RECORD_VERSION ||
    typeof record['app'] !== 'string' ||
    typeof record['release'] !== 'string' ||
    typeof pid !== 'number' ||
    typeof pgid !== 'number' ||
    !Number.isInteger(pid) ||
    !Number.isInteger(pgid) ||
    typeof startTimeTicks !== 'string'
  ) {
    return null;
  }
  return { path, pid, pgid, startTimeTicks };
}

/** Every instance record under `dir`; unreadable files and other JSON files are skipped. */
export async function findInstanceRecords(
  dir: string,
  depth = MAX_SCAN_DEPTH,
): Promise<RecordedInstance[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: RecordedInstance[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) {
      found.push(...(await findInstanceRecords(path, depth - 1)));
    } else if (entry.isFile() && entry.name.endsWith('.json')) {
      try {
        const record = asRecordedInstance(path, JSON.parse(await readFile(path, 'utf8')));
        if (record !== null) found.push(record);
      } catch {
        // Not a record (or a torn temp file): nothing the demo started.
      }
    }
  }
  return found;
}

interface Stat {
  readonly state: string;
  readonly pgrp: number;
  readonly startTimeTicks: string;
}

/** /proc/<pid>/stat, fields counted from the last `)`: the name may hold spaces (proc(5)). */
async function statOf(pid: number | string): Promise<Stat | null> {
  try {
    const line = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return {
      state: fields[3 - 3] ?? '',
      pgrp: Number(fields[5 - 3]),
      startTimeTicks: fields[22 - 3] ?? '',
    };
  } catch {
    return null;
  }
}

/** True while a process of the group runs; zombies an absent init never reaps do not count. */
async function groupAlive(pgid: number): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return signalGroup(pgid, 0);
  }
  for (const pid of pids) {
    const stat = await statOf(pid);
    if (stat !== null && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') {
      return true;
    }
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // kill(0) and kill(-1) mean "my own group" and "everyone": never from a bad record.
  if (pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends the process group of every recorded instance still running as recorded (the same pid
 * and start time: a later process that reuses the number is left alone). Returns how many
 * groups it stopped.
 */
export async function stopRecordedInstances(
  dataDir: string,
  stopTimeoutMs = STOP_TIMEOUT_MS,
): Promise<number> {
  const records = await findInstanceRecords(dataDir);
  const live: RecordedInstance[] = [];
  for (const record of records) {
    const stat = await statOf(record.pid);
    if (stat !== null && stat.startTimeTicks === record.startTimeTicks) live.push(record);
  }
  for (const record of live) signalGroup(record.pgid, 'SIGTERM');
  const deadline = performance.now() + stopTimeoutMs;
  let left = live;
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(POLL_MS);
    const alive: RecordedInstance[] = [];
    for (const record of left) if (await groupAlive(record.pgid)) alive.push(record);
    left = alive;
  }
  for (const record of left) signalGroup(record.pgid, 'SIGKILL');
  return live.length;
}
