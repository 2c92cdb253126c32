// Which app a command without an [app] argument means: the app of ./cutover.yaml when there is
// one (the folder people deploy from), else the daemon's only app. Anything else must be named.
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AdminClient } from '../client/admin-client.ts';
import { APP_CONFIG_FILE_NAME, loadAppConfigFromDir } from '../config/load-app-config.ts';
import { CutoverError } from '../core/errors.ts';

export async function resolveAppName(
  app: string | undefined,
  client: AdminClient,
  usage: string,
  dir: string = process.cwd(),
): Promise<string> {
  if (app !== undefined) return app;
  const file = join(resolve(dir), APP_CONFIG_FILE_NAME);
  if (await exists(file)) return (await loadAppConfigFromDir(resolve(dir))).app;
  const names = (await client.status()).apps.map((entry) => entry.name);
  if (names.length === 1 && names[0] !== undefined) return names[0];
  throw new CutoverError(
    'CUTOVER_ERR_USAGE',
    names.length === 0
      ? `name the app: \`${usage}\` (no ${APP_CONFIG_FILE_NAME} here, and the daemon has no apps yet)`
      : `name the app: \`${usage}\` (no ${APP_CONFIG_FILE_NAME} here; the daemon has ${names.join(', ')})`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
