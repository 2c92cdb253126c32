// `cutover init [--app NAME] [--force]`: write a commented cutover.yaml for the app in the current
// folder. Local only (no daemon). Refuses to overwrite an existing file unless --force.
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.ts';
import { renderInitTemplate } from '../../config/init-template.ts';
import { APP_CONFIG_FILE_NAME, parseAppConfigText } from '../../config/load-app-config.ts';
import type { CliContext } from '../cli-context.ts';

const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DEFAULT_START = 'node server.js';

interface InitFlags {
  readonly app?: string;
  readonly force?: boolean;
}

export function registerInitCommand(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description(`write a commented ${APP_CONFIG_FILE_NAME} for the app in the current folder`)
    .option('--app <name>', "the app's name (default: the folder's name)")
    .option('--force', `overwrite an existing ${APP_CONFIG_FILE_NAME}`)
    .action(async (flags: InitFlags, command: Command) => {
      const dir = process.cwd();
      const app = flags.app ?? appNameFromFolder(basename(dir));
      if (!APP_NAME_PATTERN.test(app)) {
        throw new CutoverError(
          'CUTOVER_ERR_USAGE',
          flags.app === undefined
            ? `the folder name "${basename(dir)}" is not an app name; pass --app NAME (lower-case letters, digits and dashes, like shop)`
            : `--app "${app}" is not an app name: use 1-63 lower-case letters, digits and dashes, like shop`,
        );
      }
      const start = await guessStartCommand(dir);
      const text = renderInitTemplate({ app, start });
      // The template must load as written; a failure here is our bug, not the user's.
      parseAppConfigText(text);
      const file = join(dir, APP_CONFIG_FILE_NAME);
      await writeConfig(file, text, flags.force === true);
      const result = { file, app, start };
      ctx.print(
        command,
        result,
        () =>
          `Wrote ${APP_CONFIG_FILE_NAME} for app ${app} (start: ${start}). Check start and health.path, then deploy it with \`cutover deploy <release>\`.`,
      );
    });
}

/** `My Shop_2` becomes `my-shop-2`; an empty result is refused by the caller. */
function appNameFromFolder(folder: string): string {
  return folder
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** `npm start` when package.json has a start script, else the issue's `node server.js`. */
async function guessStartCommand(dir: string): Promise<string> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as unknown;
    const scripts = (manifest as { scripts?: Record<string, unknown> } | null)?.scripts;
    if (typeof scripts?.start === 'string') return 'npm start';
  } catch {
    // No package.json, or one we cannot read: the default is as good a guess.
  }
  return DEFAULT_START;
}

/** Refuses an existing file atomically ('wx'); --force replaces it by rename, never half-written. */
async function writeConfig(file: string, text: string, force: boolean): Promise<void> {
  try {
    await writeConfigFile(file, text, force);
  } catch (error) {
    if (error instanceof CutoverError) throw error;
    throw new CutoverError(
      'CUTOVER_ERR_CONFIG_WRITE_FAILED',
      `could not write ${file}: ${(error as Error).message}`,
      { file },
    );
  }
}

async function writeConfigFile(file: string, text: string, force: boolean): Promise<void> {
  if (!force) {
    try {
      await writeFile(file, text, { flag: 'wx', mode: 0o644 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new CutoverError(
        'CUTOVER_ERR_CONFIG_EXISTS',
        `${APP_CONFIG_FILE_NAME} already exists here; edit it, or pass --force to replace it`,
        { file },
      );
    }
  }
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text, { flag: 'wx', mode: 0o644, flush: true });
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
