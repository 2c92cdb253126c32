// Durations on the command line: `500ms`, `30s`, `2m`, `1.5s`, `1h`. A unit is required so that
// `--health-timeout 30` can never mean 30 ms to one reader and 30 s to another.
import { CutoverError } from '../core/errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
/** Longer than anything a deploy or drain should wait; catches a typo like `30000s`. */
const MAX_DURATION_MS = 24 * 3_600_000;

/** Parses `30s` into 30000; throws CUTOVER_ERR_USAGE naming the flag and the accepted forms. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  const match = DURATION_PATTERN.exec(trimmed);
  if (match === null) {
    const bareNumber = /^\d+(?:\.\d+)?$/.test(trimmed);
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      bareNumber
        ? `${flag} "${text}" needs a unit: write ${trimmed}s, ${trimmed}ms or ${trimmed}m`
        : `${flag} "${text}" is not a duration: write a number with a unit, like 500ms, 30s or 2m`,
    );
  }
  const ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1));
  if (ms <= 0)
    throw new CutoverError('CUTOVER_ERR_USAGE', `${flag} must be longer than 0, got "${text}"`);
  if (ms > MAX_DURATION_MS) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `${flag} "${text}" is longer than 24h; is it a typo?`,
    );
  }
  return ms;
}

/** Formats milliseconds for people: `840 µs`, `3.1 ms`, `1.24 s`, `2 m 5 s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} m ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}
