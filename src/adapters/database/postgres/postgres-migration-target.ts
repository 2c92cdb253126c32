// The PostgreSQL MigrationTarget (ports/database.ts). Each call opens its own connection, so a
// target holds nothing open between calls; `apply` keeps one for its whole run (the advisory lock).
import { CutoverError } from '../../../core/errors.ts';
import type { MigrationFile } from '../../../core/migration-file.ts';
import type {
  AppliedMigration,
  ApplyOptions,
  MigrationTarget,
  Shadow,
} from '../../../ports/database.ts';
import { connect } from './pg-connection.ts';
import { findPgBinDir } from './pg-bin-dir.ts';
import { applyPostgresMigrations } from './postgres-apply.ts';
import { findHistoryTable, readHistory } from './postgres-history.ts';
import {
  createShadowDatabase,
  dropShadowDatabase,
  refreshShadowTemplate,
} from './postgres-shadow.ts';

export interface PostgresTargetOptions {
  /** Where pg_dump and psql are (for shadows); found like `pg_config --bindir` when unset. */
  readonly pgBinDir?: string;
}

/** Opens the database at `url` (postgres:// or postgresql://); checks that it accepts connections. */
export async function openPostgresMigrationTarget(
  url: string,
  options: PostgresTargetOptions = {},
): Promise<MigrationTarget> {
  const probe = await connect(url);
  await probe.end().catch(() => undefined);
  return createTarget(url, options);
}

function createTarget(url: string, options: PostgresTargetOptions): MigrationTarget {
  let closed = false;
  const open = () => {
    if (closed) throw new Error('the migration target is closed');
  };
  return {
    dialect: 'postgres',
    url,
    async applied(): Promise<readonly AppliedMigration[]> {
      open();
      const client = await connect(url);
      try {
        const table = await findHistoryTable(client);
        return table === null ? [] : await readHistory(client, table);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    apply(files: readonly MigrationFile[], applyOptions: ApplyOptions) {
      open();
      return applyPostgresMigrations(url, files, applyOptions);
    },
    async prepareShadow(): Promise<boolean> {
      open();
      return refreshShadowTemplate(url, options.pgBinDir ?? findPgBinDir());
    },
    async createShadow(): Promise<Shadow> {
      open();
      let binDir: string;
      try {
        binDir = options.pgBinDir ?? findPgBinDir();
      } catch (error) {
        throw new CutoverError('CUTOVER_ERR_MIGRATION_FAILED', (error as Error).message);
      }
      const shadow = await createShadowDatabase(url, binDir);
      const target = createTarget(shadow.url, options);
      let dropped: Promise<void> | undefined;
      return {
        target,
        drop() {
          dropped ??= (async () => {
            await target.close();
            await dropShadowDatabase(url, shadow.name);
          })();
          // A failed drop may be tried again; a done or running one is shared.
          dropped.catch(() => {
            dropped = undefined;
          });
          return dropped;
        },
      };
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
