// The traffic split and mirroring lines of `cutover status`: who gets the idle color's share,
// and how many copies of live requests went to it. Allowlist values are never printed: a tester
// token in a header or cookie is a credential.
import type { AppStatus } from '../client/api-types.ts';
import { COLORS } from '../core/types.ts';

function formatPercent(percent: number): string {
  return `${Number(percent.toFixed(2))} %`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Lines (indented by two spaces) for the app's split and mirroring; none when it has neither. */
export function formatSplitLines(app: AppStatus): string[] {
  const lines: string[] = [];
  const split = app.split;
  if (split !== undefined) {
    const live = app.live ?? 'live';
    const assignment = split.sticky ? 'sticky per client (cookie)' : 'chosen per request';
    const allow = [
      ...(split.allow.header === null ? [] : [`header ${split.allow.header.name}`]),
      ...(split.allow.cookie === null ? [] : [`cookie ${split.allow.cookie.name}`]),
    ];
    lines.push(
      `  traffic split: ${formatPercent(split.percent)} to ${split.color}, the rest to ${live}; ${assignment}` +
        (allow.length === 0 ? '' : `; allowlist ${allow.join(', ')}`),
    );
  }
  const mirror = app.mirror;
  const counted = COLORS.filter((color) => app.colors[color].mirrored !== undefined);
  if (mirror !== undefined) {
    lines.push(
      `  mirroring: copies of live requests to ${mirror.color}, at most ${mirror.maxPerSecond}/s per router worker, ` +
        `bodies up to ${formatBytes(mirror.maxBodyBytes)}`,
    );
  }
  if (counted.length > 0) {
    const counts = counted.map((color) => {
      const env = app.colors[color];
      return `${color} ${env.mirrored ?? 0} sent, ${env.mirrorDropped ?? 0} dropped`;
    });
    lines.push(`  mirrored copies: ${counts.join('; ')}`);
  }
  return lines;
}
