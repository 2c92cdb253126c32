// Durations on the command line, in the grammar of core/duration.ts, with errors that name the
// flag: `--health-timeout 30` is refused with the units it could have meant.
import { MAX_DURATION_MS, parseDurationText } from '../core/duration.ts';
import { CutoverError } from '../core/errors.ts';

/** Parses `30s` into 30000; throws CUTOVER_ERR_USAGE naming the flag and the accepted forms. */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  const ms = parseDurationText(trimmed);
  if (ms === undefined) {
    const bareNumber = /^\d+(?:\.\d+)?$/.test(trimmed);
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      bareNumber
        ? `${flag} "${text}" needs a unit: write ${trimmed}s, ${trimmed}ms or ${trimmed}m`
        : `${flag} "${text}" is not a duration: write a number with a unit, like 500ms, 30s or 2m`,
    );
  }
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
