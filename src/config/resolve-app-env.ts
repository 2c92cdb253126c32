// Turns an AppConfig's env (values and secret references) into the strings an instance gets, at
// the moment it starts. The result holds secrets: pass it to the runtime, never log or store it.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { AppConfig, EnvValue } from '../core/app-config.ts';
import { CutoverError } from '../core/errors.ts';

/** A secret file larger than this is the wrong file. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface ResolveAppEnvOptions {
  /** `{ fromFile }` paths are relative to it: the release directory. */
  readonly releaseDir: string;
  /** Where `{ fromEnv }` reads (default: cutover's own environment). */
  readonly environment?: NodeJS.ProcessEnv;
}

/**
 * Resolves every env entry; refuses with every unresolvable one named (never its value). A file's
 * one trailing newline is dropped, as `echo secret > file` adds it.
 */
export async function resolveAppEnv(
  env: AppConfig['env'],
  options: ResolveAppEnvOptions,
): Promise<Record<string, string>> {
  const environment = options.environment ?? process.env;
  const resolved: Record<string, string> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value.kind === 'value') {
      resolved[name] = value.value;
    } else if (value.kind === 'fromEnv') {
      const found = environment[value.name];
      if (found === undefined) problems.push(`env.${name}: $${value.name} is not set`);
      else resolved[name] = found;
    } else {
      const path = isAbsolute(value.path) ? value.path : resolve(options.releaseDir, value.path);
      try {
        const buffer = await readFile(path);
        if (buffer.length > MAX_SECRET_FILE_BYTES) {
          problems.push(`env.${name}: ${path} is larger than 64 KiB`);
        } else {
          resolved[name] = buffer.toString('utf8').replace(/\r?\n$/, '');
        }
      } catch (error) {
        problems.push(
          `env.${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new CutoverError('CUTOVER_ERR_CONFIG_INVALID', problems.join('\n'), {
      fields: Object.keys(env).filter((name) => resolved[name] === undefined),
    });
  }
  return resolved;
}

/**
 * What an instance's env is made of, without any secret's value: the app's env entries and, when
 * the app has a database, its URL under `database.env` (as the start step sets it), each a
 * literal or a reference, with `fromFile` paths made absolute against the release directory. The
 * process runtime stores these instead of the resolved values, and resolves them again (with
 * resolveAppEnv) to restart an instance after a daemon restart.
 */
export function appEnvSources(
  config: Pick<AppConfig, 'env' | 'database'>,
  releaseDir: string,
): Record<string, EnvValue> {
  const entries: Record<string, EnvValue> = { ...config.env };
  if (config.database !== null) entries[config.database.env] = config.database.url;
  const sources: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(entries)) {
    sources[name] =
      value.kind === 'fromFile' && !isAbsolute(value.path)
        ? { kind: 'fromFile', path: resolve(releaseDir, value.path) }
        : value;
  }
  return sources;
}
