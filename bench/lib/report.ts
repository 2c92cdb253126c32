// How every benchmark reports: a table for people, one JSON line for machines, and the same
// JSON in bench/results/<name>.json (gitignored), the only file written outside the temp dir.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';

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

/** The machine a result was measured on, recorded with every result. */
export function machine(): Record<string, unknown> {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Prints the one JSON line and writes bench/results/<name>.json. */
export async function writeResult(name: string, result: Record<string, unknown>): Promise<void> {
  const full = { bench: name, date: new Date().toISOString(), machine: machine(), ...result };
  const line = JSON.stringify(full);
  process.stdout.write(`\n${line}\n`);
  const dir = new URL('../results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(full, null, 2)}\n`);
}
