// Reads a process's state and kernel start time from /proc/<pid>/stat (proc(5)), so a recorded
// pid can be told apart from a later process that reuses the number.
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessStat {
  /** One letter: R running, S sleeping, Z zombie, X dead, ... */
  readonly state: string;
  /** Field 5, pgrp: the process group. */
  readonly pgrp: number;
  /** Field 22, starttime: clock ticks after boot; with the pid it names one process. */
  readonly startTimeTicks: string;
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) sits in parentheses and may
 * itself hold spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseProcessStat(line: string): ProcessStat | null {
  const close = line.lastIndexOf(')');
  if (close < 0) return null;
  // After ")" come field 3 (state) onwards, separated by single spaces.
  const fields = line
    .slice(close + 2)
    .trim()
    .split(' ');
  const state = fields[0];
  const pgrp = Number(fields[5 - 3]);
  const startTimeTicks = fields[22 - 3];
  if (
    state === undefined ||
    !Number.isInteger(pgrp) ||
    startTimeTicks === undefined ||
    !/^\d+$/.test(startTimeTicks)
  ) {
    return null;
  }
  return { state, pgrp, startTimeTicks };
}

/** The stat of a process, or null when there is no such process. */
export async function readProcessStat(pid: number): Promise<ProcessStat | null> {
  try {
    return parseProcessStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export function isZombie(stat: ProcessStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

/**
 * True when some process of group `pgid` still runs. A group member whose parent died is
 * reparented to init, which may be slow to reap it (in a container, init is often not a real
 * init): such zombies hold nothing, and do not count.
 */
export async function hasLiveGroupMember(pgid: number): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readProcessStat(Number(name));
    if (stat !== null && stat.pgrp === pgid && !isZombie(stat)) return true;
  }
  return false;
}

/** True when `pid` runs, is not a zombie, and started at `startTimeTicks`. */
export async function isSameProcessAlive(pid: number, startTimeTicks: string): Promise<boolean> {
  const stat = await readProcessStat(pid);
  return stat !== null && stat.startTimeTicks === startTimeTicks && !isZombie(stat);
}
