// `cutover drift` as text: each comparison with its differences, drift first, expected ones
// marked with what allowed them. Secret values are never in the report to begin with.
import type {
  DriftComparison,
  DriftDifference,
  DriftResponse,
  DriftSide,
} from '../client/api-types.ts';
import { describeDifference } from '../drift/drift-diff.ts';

function colorRole(side: DriftSide, live: DriftSide | null): string {
  if (side.color === null) return 'new';
  return live !== null && side.color === live.color ? `${side.color}, live` : side.color;
}

function expectation(difference: DriftDifference): string {
  const expected = difference.expected;
  if (expected === null) return '';
  if (expected.by === 'release') return ' (the release id always differs)';
  if (expected.by === 'deployment-setting') {
    return ` (a deployment setting: ${expected.pattern.slice('config.'.length)})`;
  }
  return ` (${expected.by} ${expected.pattern})`;
}

function formatComparison(
  title: string,
  comparison: DriftComparison,
  roles: { readonly from: string; readonly to: string },
): string[] {
  const { differences, drift } = comparison;
  const lines = [
    `  ${title}: ${differences.length} difference${differences.length === 1 ? '' : 's'}, ${drift} drift`,
  ];
  const ordered = [...differences].sort(
    (a, b) => Number(a.expected !== null) - Number(b.expected !== null),
  );
  for (const difference of ordered) {
    const mark = difference.expected === null ? 'DRIFT   ' : 'expected';
    lines.push(
      `    ${mark} ${describeDifference(difference, comparison, roles)}${expectation(difference)}`,
    );
  }
  return lines;
}

/** The keys that are drift, across both comparisons. */
export function driftKeys(report: DriftResponse): string[] {
  const keys = [report.colors, report.inPlace].flatMap((comparison) =>
    (comparison?.differences ?? [])
      .filter((each) => each.expected === null)
      .map((each) => each.key),
  );
  return [...new Set(keys)];
}

export function formatDriftReport(report: DriftResponse): string {
  const lines = [`${report.app}: drift report`];
  if (report.live !== null) {
    lines.push(
      `  live: ${report.live.color ?? '?'} ${report.live.release} (snapshot ${report.live.takenAt})`,
    );
  }
  if (report.colors !== null) {
    const { from, to } = report.colors;
    lines.push(
      ...formatComparison(
        `${from.color ?? '?'} ${from.release} -> ${to.color ?? '?'} ${to.release}`,
        report.colors,
        {
          from: colorRole(from, report.live),
          to: colorRole(to, report.live),
        },
      ),
    );
  }
  if (report.inPlace !== null) {
    const { from, to } = report.inPlace;
    lines.push(
      ...formatComparison(
        `${from.color ?? '?'} ${from.release} changed in place since it started (${from.takenAt})`,
        report.inPlace,
        { from: 'at start', to: `now, ${to.takenAt}` },
      ),
    );
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  const keys = driftKeys(report);
  lines.push(
    keys.length === 0
      ? `${report.app}: no drift`
      : `${report.app}: drift in ${keys.length} key${keys.length === 1 ? '' : 's'}: ${keys.join(', ')}`,
  );
  return lines.join('\n');
}
