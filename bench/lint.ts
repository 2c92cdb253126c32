// Benchmark `lint` (issue 4: the linter handles 1,000 statements in < 1 s): the migration
// corpus (test/fixtures/migrations/) repeated across files until the run holds at least 1,000
// statements, linted file by file as `cutover migrations lint` does, 10 times; median and max.
// The parser's WebAssembly module load and the import of the engine and its rules are timed
// apart: they are paid once per process, not per statement.
//   node bench/lint.ts         (npm run bench:lint)
// The CLI process (`cutover migrations lint --dir`) over the same statements is timed beside it.
// Env: BENCH_LINT_STATEMENTS (default 1000), BENCH_LINT_RUNS (default 10).
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { childCpuMs } from './lib/child-cpu.ts';
import { runBenchmark } from './lib/cleanup.ts';
import { createTempDir } from './lib/temp-dir.ts';
import { printTable, writeResult, type Cell } from './lib/report.ts';
import { median, round } from './lib/stats.ts';

const STATEMENTS = Number(process.env['BENCH_LINT_STATEMENTS'] ?? '1000');
const RUNS = Number(process.env['BENCH_LINT_RUNS'] ?? '10');
const GOAL_MS = 1000;
const CORPUS_DIR = new URL('../test/fixtures/migrations/', import.meta.url);
const CLI = new URL('../bin/cutover.js', import.meta.url).pathname;
/** `cutover migrations lint` exits 1 on blocking findings: the corpus has them on purpose. */
const CLI_EXIT_BLOCKED = 1;

interface CorpusFile {
  readonly name: string;
  readonly sql: string;
  readonly dialect: 'postgres' | 'sqlite';
  readonly outsideRunner: boolean;
}

async function readCorpus(): Promise<CorpusFile[]> {
  const expected = JSON.parse(
    await readFile(new URL('expected.json', CORPUS_DIR), 'utf8'),
  ) as Record<string, { dialect?: 'sqlite'; outsideRunner?: boolean }>;
  const names = (await readdir(CORPUS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      sql: await readFile(new URL(name, CORPUS_DIR), 'utf8'),
      dialect: expected[name]?.dialect ?? 'postgres',
      outsideRunner: expected[name]?.outsideRunner ?? false,
    })),
  );
}

async function main(): Promise<void> {
  if (!(Number.isInteger(STATEMENTS) && STATEMENTS > 0 && Number.isInteger(RUNS) && RUNS > 0)) {
    throw new Error('BENCH_LINT_STATEMENTS and BENCH_LINT_RUNS must be positive integers');
  }
  const loadStart = performance.now();
  const { loadModule } = await import('libpg-query');
  await loadModule();
  const parserLoadMs = performance.now() - loadStart;
  const importStart = performance.now();
  const { lintSql } = await import('../src/migrations/lint/lint-sql.ts');
  const engineImportMs = performance.now() - importStart;

  // Count each corpus file's statements once, then repeat the files round-robin (each copy its
  // own path, as in a long-lived app's migrations folder) until the statement goal is reached.
  const corpus = await readCorpus();
  const counted: { file: CorpusFile; statements: number }[] = [];
  for (const file of corpus) {
    const result = await lintSql(file.sql, {
      path: file.name,
      dialect: file.dialect,
      outsideRunner: file.outsideRunner,
    });
    if (result.statements > 0) counted.push({ file, statements: result.statements });
  }
  if (counted.length === 0) throw new Error('the corpus has no statements');
  const batch: { path: string; file: CorpusFile }[] = [];
  let total = 0;
  for (let index = 0; total < STATEMENTS; index += 1) {
    const entry = counted[index % counted.length];
    if (entry === undefined) break;
    batch.push({
      path: `migrations/${String(index).padStart(4, '0')}-${entry.file.name}`,
      file: entry.file,
    });
    total += entry.statements;
  }

  // The same statements as one file too (the PostgreSQL files of the corpus, repeated): a
  // rule that looks at its neighbours must not make a long file cost more than its statements.
  const postgres = counted.filter(({ file }) => file.dialect === 'postgres');
  const bigParts: string[] = [];
  let bigTotal = 0;
  for (let index = 0; bigTotal < STATEMENTS; index += 1) {
    const entry = postgres[index % postgres.length];
    if (entry === undefined) break;
    // A byte-order mark belongs at the start of a file only: drop it inside the joined file.
    bigParts.push(entry.file.sql.replace(/^\uFEFF/, ''));
    bigTotal += entry.statements;
  }
  const bigSql = bigParts.join('\n');

  const files = await timeRuns(async () => {
    let found = 0;
    for (const { path, file } of batch) {
      const result = await lintSql(file.sql, {
        path,
        dialect: file.dialect,
        outsideRunner: file.outsideRunner,
      });
      found += result.findings.length;
    }
    return found;
  });
  const oneFile = await timeRuns(
    async () => (await lintSql(bigSql, { path: 'migrations/9999-all.sql' })).findings.length,
  );

  // What a person runs: one `cutover migrations lint --dir` process over a migrations folder of
  // the PostgreSQL files, from spawn to exit (Node's start, the imports, the parser, the lint).
  const appDir = await createTempDir('lint');
  await mkdir(join(appDir, 'migrations'));
  let cliTotal = 0;
  for (let index = 0; cliTotal < STATEMENTS; index += 1) {
    const entry = postgres[index % postgres.length];
    if (entry === undefined) break;
    const name = `${String(index).padStart(4, '0')}-${entry.file.name}`;
    await writeFile(join(appDir, 'migrations', name), entry.file.sql);
    cliTotal += entry.statements;
  }
  // Its CPU time too (user + system, from /proc): unlike the wall time it hardly depends on how
  // busy the shared machine is.
  const cliCpuMs: number[] = [];
  const cli = await timeRuns(async () => {
    const cpuBefore = childCpuMs();
    await runCli(['migrations', 'lint', '--dir', appDir, '--format', 'json']);
    cliCpuMs.push(childCpuMs() - cpuBefore);
    return 0;
  });

  const row = (what: string, ms: number, statements: number): Cell[] => [
    what,
    round(ms),
    round((ms * 1000) / statements),
  ];
  printTable(
    `lint: ${String(total)} statements in ${String(batch.length)} files, ${String(bigTotal)} in one file, ${String(cliTotal)} through the CLI; ${String(RUNS)} runs each`,
    ['what', 'ms', 'per statement us'],
    [
      ['parser module load (once)', round(parserLoadMs), null],
      ['engine + rules import (once)', round(engineImportMs), null],
      row('files: first run (cold JIT)', files.firstMs, total),
      row('files: median of runs', files.medianMs, total),
      row('files: max of runs', files.maxMs, total),
      row('one file: median of runs', oneFile.medianMs, bigTotal),
      row('one file: max of runs', oneFile.maxMs, bigTotal),
      row('CLI process: median of runs', cli.medianMs, cliTotal),
      row('CLI process: max of runs', cli.maxMs, cliTotal),
      row('CLI process: CPU, median of runs', median(cliCpuMs), cliTotal),
    ],
  );
  // The goal is the linter's; the CLI row adds Node's own start and is shown beside it.
  const goalMet = files.maxMs < GOAL_MS && oneFile.maxMs < GOAL_MS;
  process.stdout.write(
    `\nfindings per run: ${String(files.findings)} (files), ${String(oneFile.findings)} (one file)\n` +
      `goal: ${String(STATEMENTS)} statements < ${String(GOAL_MS)} ms (max of runs, both shapes): ${goalMet ? 'met' : 'NOT met'}\n`,
  );
  await writeResult('lint', {
    command: 'node bench/lint.ts',
    statements: total,
    files: batch.length,
    corpusFiles: counted.length,
    oneFileStatements: bigTotal,
    runs: RUNS,
    goal: { ms: GOAL_MS },
    goalMet,
    parserLoadMs: round(parserLoadMs),
    engineImportMs: round(engineImportMs),
    filesRuns: summary(files),
    oneFileRuns: summary(oneFile),
    cliStatements: cliTotal,
    cliRuns: summary(cli),
    cliCpuMs: { median: round(median(cliCpuMs)), runs: cliCpuMs.map((ms) => round(ms)) },
  });
}

interface Timing {
  readonly runsMs: readonly number[];
  /** The first run is what one `cutover migrations lint` process pays: the rules not yet compiled. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly findings: number;
}

/** Runs `lint` RUNS times, timing each run; it returns the findings of a run. */
async function timeRuns(lint: () => Promise<number>): Promise<Timing> {
  const runsMs: number[] = [];
  let findings = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    findings = await lint();
    runsMs.push(performance.now() - start);
  }
  return {
    runsMs,
    firstMs: runsMs[0] ?? Number.NaN,
    medianMs: median(runsMs),
    maxMs: Math.max(...runsMs),
    findings,
  };
}

/** Runs the CLI with the project's Node; anything but a clean or blocked exit is a failure. */
function runCli(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 || code === CLI_EXIT_BLOCKED) resolve();
      else reject(new Error(`cutover ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

function summary(timing: Timing): Record<string, unknown> {
  return {
    findings: timing.findings,
    firstMs: round(timing.firstMs),
    medianMs: round(timing.medianMs),
    maxMs: round(timing.maxMs),
    runsMs: timing.runsMs.map((ms) => round(ms)),
  };
}

runBenchmark('lint', main);
