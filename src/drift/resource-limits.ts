// The resource limits instances inherit: the daemon's own soft limits (the process runtime
// spawns instances from the daemon, so they get the same), read from /proc/self/limits
// (proc(5)). Empty where /proc is not there.
import { readFile } from 'node:fs/promises';

/** proc(5) row names, and the snapshot key each becomes (`config.limits.nofile`). */
const LIMIT_NAMES: Readonly<Record<string, string>> = {
  'Max open files': 'nofile',
  'Max processes': 'nproc',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max cpu time': 'cpu',
};

/** Parses the text of /proc/<pid>/limits into soft limits by key. */
export function parseProcLimits(text: string): Record<string, string> {
  const limits: Record<string, string> = {};
  for (const line of text.split('\n')) {
    for (const [row, key] of Object.entries(LIMIT_NAMES)) {
      if (!line.startsWith(row)) continue;
      const soft = line.slice(row.length).trim().split(/\s+/)[0];
      if (soft !== undefined && soft !== '') limits[key] = soft;
    }
  }
  return limits;
}

export async function readResourceLimits(
  path = '/proc/self/limits',
): Promise<Record<string, string>> {
  try {
    return parseProcLimits(await readFile(path, 'utf8'));
  } catch {
    return {};
  }
}
