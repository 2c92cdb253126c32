// Where pg_dump and psql are, for the schema-only shadow template: `pg_config --bindir`, the
// newest /usr/lib/postgresql/<version>/bin, or PATH. pg_dump must be at least the server's version.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function findPgBinDir(): string {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(root, version, 'bin')));
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config is optional; PATH is tried next.
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter((dir) => dir !== ''));
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'pg_dump')) && existsSync(join(dir, 'psql')),
  );
  if (found === undefined) {
    throw new Error(
      'pg_dump and psql were not found (needed for the shadow copy): install the PostgreSQL client (apt-get install -y postgresql-client)',
    );
  }
  return found;
}
