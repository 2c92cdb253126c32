// The peers and the load generator come from Debian packages. On a clean machine the benchmark
// installs them itself (as root), running `apt-get update` only if the first install fails.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Which Debian package provides each tool the benchmarks run. */
const PACKAGE_OF_TOOL: Readonly<Record<string, string>> = {
  nginx: 'nginx',
  haproxy: 'haproxy',
  wrk: 'wrk',
};

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of a tool, or null when it is not installed. */
export function findTool(tool: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return null;
}

function aptInstall(packages: readonly string[]): boolean {
  // RUNLEVEL=1 keeps invoke-rc.d from starting the system nginx/HAProxy services on ports 80
  // and beyond: the benchmarks start their own instances and nothing else should run.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  const result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  return result.status === 0;
}

/** Returns the absolute path of each tool, installing the missing ones with apt-get. */
export function ensureTools(tools: readonly string[]): Record<string, string> {
  const missing = tools.filter((tool) => findTool(tool) === null);
  if (missing.length > 0) {
    const packages = missing.map((tool) => PACKAGE_OF_TOOL[tool] ?? tool);
    process.stderr.write(`bench: installing ${packages.join(' ')} with apt-get\n`);
    if (process.getuid?.() !== 0) {
      throw new Error(
        `bench: ${missing.join(', ')} missing and not root; install them: apt-get install -y ${packages.join(' ')}`,
      );
    }
    if (!aptInstall(packages)) {
      const update = spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (update.status !== 0 || !aptInstall(packages)) {
        throw new Error(
          `bench: apt-get install -y ${packages.join(' ')} failed; install them by hand`,
        );
      }
    }
  }
  const paths: Record<string, string> = {};
  for (const tool of tools) {
    const path = findTool(tool);
    if (path === null) throw new Error(`bench: ${tool} is still missing after apt-get install`);
    paths[tool] = path;
  }
  return paths;
}
