// Inline suppressions: `-- cutover:ignore <rule-id> <reason>` on the comment line(s) right above
// a statement, or on its lines (at its end). A reason is required: an unexplained ignore is how
// a dangerous migration slips through review.

export interface SuppressionComment {
  /** 1-based line of the comment. */
  readonly line: number;
  /** The rule id as written, or '' when missing. */
  readonly rule: string;
  /** The reason, trimmed; '' when missing. */
  readonly reason: string;
  /** The whole comment, for findings about it. */
  readonly text: string;
  /** Whether the line holds nothing but comments (so it can sit above a statement). */
  readonly commentOnly: boolean;
}

const IGNORE_PATTERN = /--\s*cutover:ignore\b(.*)$/;

/** Every `cutover:ignore` comment of `text`, in line order. */
export function readSuppressions(text: string): SuppressionComment[] {
  const found: SuppressionComment[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (!line.includes('cutover:ignore')) continue;
    // CRLF files: `.` stops at the \r, so the pattern must see the line without it.
    const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
    const match = IGNORE_PATTERN.exec(raw);
    if (match === null) continue;
    const words = (match[1] ?? '').trim();
    const space = words.search(/\s/);
    found.push({
      line: index + 1,
      rule: space === -1 ? words : words.slice(0, space),
      reason: space === -1 ? '' : words.slice(space).trim(),
      text: match[0].trim(),
      commentOnly: raw.trimStart().startsWith('--'),
    });
  }
  return found;
}

/**
 * The lines whose suppressions apply to a statement spanning [line, endLine]: its own lines, and
 * the unbroken run of comment-only lines right above it.
 */
export function suppressionLines(
  lines: readonly string[],
  line: number,
  endLine: number,
): { readonly from: number; readonly to: number } {
  let from = line;
  while (from > 1 && (lines[from - 2] ?? '').trimStart().startsWith('--')) from -= 1;
  return { from, to: endLine };
}
