// Reads a release's migrations folder into MigrationFiles, and plans what a database would apply
// (`planMigrations` is pure: the runner, `cutover migrations plan` and the shadow check share it).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMigrationHeader } from '../core/migration-file.ts';
import type { MigrationFile } from '../core/migration-file.ts';
import { CutoverError } from '../core/errors.ts';
import type { AppliedMigration } from '../ports/database.ts';

/**
 * The `*.sql` files of `dir`, sorted by name (code-point order, so `0010_` sorts after `0009_`
 * only when the numbers are zero-padded alike). A missing folder means no migrations; a bad
 * header throws naming the file and line.
 */
export async function readMigrationDir(dir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const sqlNames = names.filter((name) => name.endsWith('.sql')).sort(compareNames);
  const files: MigrationFile[] = [];
  for (const name of sqlNames) {
    const path = join(dir, name);
    const bytes = await readFile(path);
    const sql = bytes.toString('utf8');
    let header;
    try {
      header = parseMigrationHeader(sql);
    } catch (error) {
      throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
    }
    files.push({
      name,
      path,
      phase: header.phase,
      transactional: header.transactional,
      sql,
      checksum: createHash('sha256').update(bytes).digest('hex'),
    });
  }
  return files;
}

export interface MigrationPlan {
  /** Expand files not yet applied, in name order: what a deployment applies. */
  readonly pending: readonly MigrationFile[];
  /** Contract files not yet applied: held until the old version is retired. */
  readonly contractPending: readonly MigrationFile[];
  /** Applied files whose checksum differs from the file now: the runner refuses to run. */
  readonly changed: readonly { readonly file: MigrationFile; readonly applied: AppliedMigration }[];
}

/** What `files` would change on a database whose history is `applied`. */
export function planMigrations(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
): MigrationPlan {
  const byName = new Map(applied.map((row) => [row.name, row]));
  const pending: MigrationFile[] = [];
  const contractPending: MigrationFile[] = [];
  const changed: { file: MigrationFile; applied: AppliedMigration }[] = [];
  for (const file of [...files].sort((a, b) => compareNames(a.name, b.name))) {
    const row = byName.get(file.name);
    if (row !== undefined) {
      if (row.checksum !== file.checksum) changed.push({ file, applied: row });
    } else if (file.phase === 'contract') {
      contractPending.push(file);
    } else {
      pending.push(file);
    }
  }
  return { pending, contractPending, changed };
}

/** Code-point order, locale-independent, so every host sorts the same way. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What a runner applies: the files not in the history, in name order. Refuses (before anything
 * runs) when an applied file changed or a name is listed twice. Both database adapters use it.
 */
export function pendingFiles(
  files: readonly MigrationFile[],
  history: readonly AppliedMigration[],
): MigrationFile[] {
  const applied = new Map(history.map((row) => [row.name, row]));
  const changed = files.filter((file) => {
    const row = applied.get(file.name);
    return row !== undefined && row.checksum !== file.checksum;
  });
  if (changed.length > 0) {
    const names = changed.map((file) => file.name).join(', ');
    throw new CutoverError(
      'CUTOVER_ERR_MIGRATION_CHECKSUM',
      `${names} changed after it was applied (its checksum differs from cutover_migrations); nothing was applied. Restore the file as it was and put the change in a new migration`,
      { files: changed.map((file) => file.name) },
    );
  }
  const names = new Set<string>();
  for (const file of files) {
    if (names.has(file.name)) {
      throw new CutoverError('CUTOVER_ERR_MIGRATION_FAILED', `${file.name} is listed twice`, {
        file: file.name,
      });
    }
    names.add(file.name);
  }
  return files
    .filter((file) => !applied.has(file.name))
    .sort((a, b) => compareNames(a.name, b.name));
}
