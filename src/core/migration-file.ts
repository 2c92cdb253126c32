// One migration file of a release (`migrations/` by default): ordered by file name, tagged expand
// or contract by a header comment, optionally outside a transaction (for CONCURRENTLY).
//
//   -- cutover:phase contract          (default: expand)
//   -- cutover:transaction off         (default: on; the runner wraps the file in BEGIN/COMMIT)
//
// Header comments are the leading `--` lines of the file, before the first statement.

export type MigrationPhase = 'expand' | 'contract';

export interface MigrationFile {
  /** The file name, e.g. `0003_add_email.sql`: the migration's identity in the history table. */
  readonly name: string;
  /** Where it was read from, for messages (`migrations/0003_add_email.sql`). */
  readonly path: string;
  readonly phase: MigrationPhase;
  /** False when the header says `transaction off`: each statement runs on its own. */
  readonly transactional: boolean;
  readonly sql: string;
  /** SHA-256 of the file's bytes, hex: an applied file whose checksum changed is refused. */
  readonly checksum: string;
}

export interface MigrationHeader {
  readonly phase: MigrationPhase;
  readonly transactional: boolean;
}

const HEADER_PATTERN = /^--\s*cutover:(\w+)\s+(\S+)\s*$/;

/**
 * Reads the header tags of a migration's text. Unknown `cutover:` tags and bad values throw
 * a message naming the line, so a typo never silently makes a contract file an expand one.
 */
export function parseMigrationHeader(sql: string): MigrationHeader {
  let phase: MigrationPhase = 'expand';
  let transactional = true;
  const lines = sql.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    // A suppression (`-- cutover:ignore <rule> <reason>`) has many words and belongs to the linter.
    if (/^--\s*cutover:ignore\b/.test(line)) continue;
    const match = HEADER_PATTERN.exec(line);
    if (match === null) {
      if (/^--\s*cutover:/.test(line)) {
        throw new Error(`line ${index + 1}: expected "-- cutover:<tag> <value>", got "${line}"`);
      }
      continue;
    }
    const [, tag, value] = match as unknown as [string, string, string];
    if (tag === 'phase') {
      if (value !== 'expand' && value !== 'contract') {
        throw new Error(
          `line ${index + 1}: cutover:phase must be expand or contract, got "${value}"`,
        );
      }
      phase = value;
    } else if (tag === 'transaction') {
      if (value !== 'on' && value !== 'off') {
        throw new Error(`line ${index + 1}: cutover:transaction must be on or off, got "${value}"`);
      }
      transactional = value === 'on';
    } else if (tag !== 'ignore') {
      throw new Error(
        `line ${index + 1}: unknown tag cutover:${tag}; expected phase, transaction or ignore`,
      );
    }
  }
  return { phase, transactional };
}
