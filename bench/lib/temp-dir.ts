// One temp dir per benchmark run: the only place a benchmark writes, besides bench/results/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.ts';

/** Creates a temp dir removed at cleanup (set BENCH_KEEP_TMP=1 to keep it for debugging). */
export async function createTempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cutover-bench-${name}-`));
  onCleanup(async () => {
    if (process.env['BENCH_KEEP_TMP'] === '1') {
      process.stderr.write(`bench: kept ${dir}\n`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}
