// CPU time used by this process's finished children, from /proc/self/stat (Linux): the CPU a
// spawned command cost, which unlike its wall time hardly depends on how busy the machine is.
import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of the times in /proc/<pid>/stat on every mainstream platform. */
const CLOCK_TICKS_PER_S = 100;

/** The stat line's cutime + cstime (fields 16 and 17, proc(5)) in ms; NaN without /proc. */
export function parseChildCpuMs(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cutime = Number(fields[13]);
  const cstime = Number(fields[14]);
  return ((cutime + cstime) * 1000) / CLOCK_TICKS_PER_S;
}

export function childCpuMs(): number {
  try {
    return parseChildCpuMs(readFileSync('/proc/self/stat', 'utf8'));
  } catch {
    return Number.NaN;
  }
}
