// The data directory holds the state, the admin socket and the daemon's files. It is private to
// its owner (0700): the admin socket inside it is then unreachable by others even before its
// own chmod (QUALITY.md D1).
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CutoverError } from '../core/errors.ts';

export const DATA_DIR_MODE = 0o700;

export interface DataDirPaths {
  readonly root: string;
  readonly stateDb: string;
  readonly adminSocket: string;
  readonly pidFile: string;
  readonly daemonInfo: string;
}

export function dataDirPaths(root: string): DataDirPaths {
  return {
    root,
    stateDb: join(root, 'state.db'),
    adminSocket: join(root, 'admin.sock'),
    pidFile: join(root, 'daemon.pid'),
    daemonInfo: join(root, 'daemon.json'),
  };
}

/** Creates the data directory (0700) or tightens an existing one to 0700. */
export async function prepareDataDir(root: string): Promise<DataDirPaths> {
  try {
    await mkdir(root, { recursive: true, mode: DATA_DIR_MODE });
    const info = await stat(root);
    if (!info.isDirectory()) {
      throw new CutoverError(
        'CUTOVER_ERR_CONFIG_INVALID',
        `The data dir "${root}" exists and is not a directory: pass another --data-dir.`,
      );
    }
    if ((info.mode & 0o777) !== DATA_DIR_MODE) await chmod(root, DATA_DIR_MODE);
  } catch (error) {
    if (error instanceof CutoverError) throw error;
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `Cannot use the data dir "${root}": ${(error as Error).message}. Pass a writable --data-dir.`,
    );
  }
  return dataDirPaths(root);
}
