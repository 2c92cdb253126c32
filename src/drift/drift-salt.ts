// The daemon's salt for hashing secret values (HMAC-SHA256): 32 random bytes in the data dir,
// mode 0600, created once. Without it a stored hash of a short secret could be guessed offline.
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DRIFT_SALT_FILE = 'drift-salt';
const SALT_BYTES = 32;

/** Reads the salt, or creates it (exclusively: two daemons never get different salts). */
export async function loadDriftSalt(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, DRIFT_SALT_FILE);
  try {
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(randomBytes(SALT_BYTES).toString('hex'));
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A salt file made looser by hand is tightened: it is as sensitive as the hashes.
  await chmod(path, 0o600);
  const text = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new Error(`${path} is not a drift salt (64 hex digits): remove it to make a new one`);
  }
  return Buffer.from(text, 'hex');
}
