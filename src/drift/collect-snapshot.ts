// Takes a release's snapshot (the I/O half of drift-snapshot.ts): resolves its env as the
// process runtime would (secrets only as salted hashes), asks the interpreter its version,
// hashes the lock files and the declared config files, reads the inherited resource limits.
import { createHash, createHmac } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { AppConfig, EnvValue } from '../core/app-config.ts';
import { resolveAppEnv } from '../config/resolve-app-env.ts';
import { buildSnapshot, UNKNOWN_VALUE } from './drift-snapshot.ts';
import type { DriftSnapshot, SnapshotValue } from './drift-snapshot.ts';
import { readResourceLimits } from './resource-limits.ts';
import { runtimeVersion } from './runtime-version.ts';

/** Lock files hashed when present in the release dir. */
export const LOCK_FILES: readonly string[] = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'Gemfile.lock',
  'poetry.lock',
  'go.sum',
  'Cargo.lock',
  'composer.lock',
  'requirements.txt',
];

export interface CollectInput {
  readonly release: string;
  readonly dir: string;
  readonly config: AppConfig;
  /** The daemon's salt (drift-salt.ts). */
  readonly salt: Buffer;
  /** Where `{ fromEnv }` reads and what instances inherit (default: the daemon's env). */
  readonly environment?: NodeJS.ProcessEnv;
  readonly takenAt: string;
  readonly versionTimeoutMs?: number;
  /** Default: /proc/self/limits (tests pass a file). */
  readonly limitsPath?: string;
}

export function hashSecret(salt: Buffer, value: string): string {
  return createHmac('sha256', salt).update(value, 'utf8').digest('hex');
}

async function sha256File(path: string): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

/** One env entry as the instances would get it; a secret that cannot be read hashes to null. */
async function resolveOne(
  name: string,
  value: EnvValue,
  input: CollectInput,
): Promise<{ readonly shown: SnapshotValue; readonly resolved: string | null }> {
  if (value.kind === 'value') return { shown: value, resolved: value.value };
  let resolved: string | null = null;
  try {
    const env = await resolveAppEnv(
      { [name]: value },
      {
        releaseDir: input.dir,
        ...(input.environment === undefined ? {} : { environment: input.environment }),
      },
    );
    resolved = env[name] ?? null;
  } catch {
    // Unresolvable: the start step refuses it with the reason; here it is "not readable".
  }
  return {
    shown: { kind: 'secret', hash: resolved === null ? null : hashSecret(input.salt, resolved) },
    resolved,
  };
}

export async function collectSnapshot(input: CollectInput): Promise<DriftSnapshot> {
  const { config } = input;
  const env: Record<string, SnapshotValue> = {};
  const instanceEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.env)) {
    const one = await resolveOne(name, value, input);
    env[name] = one.shown;
    if (one.resolved !== null) instanceEnv[name] = one.resolved;
  }
  const databaseUrl =
    config.database === null
      ? null
      : (await resolveOne(config.database.env, config.database.url, input)).shown;

  const files: Record<string, string | null> = {};
  for (const name of LOCK_FILES) {
    const hash = await sha256File(resolve(input.dir, name));
    if (hash !== null) files[name] = hash;
  }
  for (const path of config.drift.files) {
    files[path] = await sha256File(isAbsolute(path) ? path : resolve(input.dir, path));
  }

  const version =
    config.runtime === 'process'
      ? await runtimeVersion(config.start, {
          cwd: resolve(input.dir, config.cwd),
          env: { ...(input.environment ?? process.env), ...instanceEnv },
          ...(input.versionTimeoutMs === undefined ? {} : { timeoutMs: input.versionTimeoutMs }),
        })
      : UNKNOWN_VALUE;

  return buildSnapshot({
    release: input.release,
    takenAt: input.takenAt,
    config,
    env,
    databaseUrl,
    runtimeVersion: version,
    files,
    limits: await readResourceLimits(input.limitsPath),
  });
}
