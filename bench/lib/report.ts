// How every benchmark reports: a table for people, one JSON line for machines, and the same
// JSON in bench/results/<name>.json (gitignored), the only file written outside the temp dir.
import { mkdir, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { cleanupStarted } from './cleanup.ts';

export type Cell = string | number | boolean | null;

/** Prints rows as an aligned text table. */
export function printTable(
  title: string,
  header: readonly string[],
  rows: readonly Cell[][],
): void {
  const text = rows.map((row) => row.map(formatCell));
  const widths = header.map((name, column) =>
    Math.max(name.length, ...text.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${line(header)}\n`);
  process.stdout.write(`${line(widths.map((width) => '-'.repeat(width)))}\n`);
  for (const row of text) process.stdout.write(`${line(row)}\n`);
}

function formatCell(cell: Cell): string {
  if (cell === null) return '-';
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return '-';
    return Number.isInteger(cell) ? String(cell) : cell.toFixed(2);
  }
  return String(cell);
}

/** The commit measured (with `+dirty` when the tree has changes), or null outside git. */
function commitOf(): string | null {
  const cwd = new URL('..', import.meta.url);
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd,
    encoding: 'utf8',
  });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : '+dirty'}`;
}

/**
 * The machine a result was measured on, recorded with every result. The load average says how
 * busy the (shared) machine was: the reason peers and cutover always run alternating.
 */
export function machine(): Record<string, unknown> {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    commit: commitOf(),
  };
}

/** Prints the one JSON line and writes bench/results/<name>.json. */
export async function writeResult(name: string, result: Record<string, unknown>): Promise<void> {
  // Interrupted: the peers were stopped under the measurement, so there is no result to keep.
  if (cleanupStarted()) return;
  const full = { bench: name, date: new Date().toISOString(), machine: machine(), ...result };
  const line = JSON.stringify(full);
  process.stdout.write(`\n${line}\n`);
  const dir = new URL('../results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(full, null, 2)}\n`);
}
