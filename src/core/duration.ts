// The one duration grammar of cutover, shared by command-line flags and cutover.yaml:
// `500ms`, `30s`, `2m`, `1h`, `1.5s`. A unit is required in text, so `30` never means 30 ms to
// one reader and 30 s to another.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Longer than anything a deploy, drain or check should wait; catches a typo like `30000s`. */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Parses `30s` into 30000 (rounded to whole ms); undefined when the text is not a duration. */
export function parseDurationText(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1));
}
