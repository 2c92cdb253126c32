// The data directory holds the state, the admin socket and the daemon's files. Created private
// to its owner (0700): the admin socket inside it is then unreachable by others even before its
// own chmod (QUALITY.md D1).
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CutoverError } from '../core/errors.ts';

export const DATA_DIR_MODE = 0o700;
/** sockaddr_un.sun_path holds 108 bytes on Linux, NUL included (unix(7)). */
export const MAX_SOCKET_PATH_BYTES = 107;

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

/**
 * Creates the data directory (0700). An existing one is used as it is, never chmod-ed (it might
 * be a shared directory like /tmp), but refused if others can write to it: they could replace
 * the state or the admin socket.
 */
export async function prepareDataDir(root: string): Promise<DataDirPaths> {
  const socketPath = dataDirPaths(root).adminSocket;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `The data dir "${root}" is too deep for the admin socket: ${socketPath} is ` +
        `${Buffer.byteLength(socketPath)} bytes, Unix sockets allow ${MAX_SOCKET_PATH_BYTES}. Pass a shorter --data-dir.`,
    );
  }
  const notADirectory = (): CutoverError =>
    new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `The data dir "${root}" exists and is not a directory: pass another --data-dir.`,
    );
  try {
    await mkdir(root, { recursive: true, mode: DATA_DIR_MODE }).catch(
      (error: NodeJS.ErrnoException) => {
        throw error.code === 'EEXIST' || error.code === 'ENOTDIR' ? notADirectory() : error;
      },
    );
    const info = await stat(root);
    if (!info.isDirectory()) throw notADirectory();
    if ((info.mode & 0o022) !== 0) {
      throw new CutoverError(
        'CUTOVER_ERR_CONFIG_INVALID',
        `The data dir "${root}" is writable by other users (mode ${(info.mode & 0o7777).toString(8)}): ` +
          'use a private directory (`chmod 700` it) or pass another --data-dir.',
      );
    }
  } catch (error) {
    if (error instanceof CutoverError) throw error;
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_INVALID',
      `Cannot use the data dir "${root}": ${(error as Error).message}. Pass a writable --data-dir.`,
    );
  }
  return dataDirPaths(root);
}
