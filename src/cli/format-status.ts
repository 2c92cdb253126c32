// `cutover status` for people: per app a header, a table of its colors, and its last flips.
import type { AppStatus, StatusResponse } from '../client/api-types.ts';
import { COLORS } from '../core/types.ts';
import { formatSplitLines } from './format-split.ts';
import { formatTable, indent } from './format-table.ts';
import { formatDuration } from './parse-duration.ts';

const SHOWN_FLIPS = 5;

export function formatStatus(status: StatusResponse): string {
  if (status.apps.length === 0) {
    return (
      'no apps yet: deploy one with `cutover deploy <release> --dir <its folder>` ' +
      '(the folder holds its cutover.yaml; `cutover init` writes one)'
    );
  }
  const blocks = status.apps.map(formatApp);
  return [
    `revision ${status.revision}, routing generation ${status.generation}`,
    '',
    blocks.join('\n\n'),
  ].join('\n');
}

export function formatApp(app: AppStatus): string {
  const hosts = app.hosts.length === 0 ? 'catch-all (no hosts)' : `hosts ${app.hosts.join(', ')}`;
  const live = app.live === null ? 'nothing live yet' : `${app.live} is live`;
  const rows = COLORS.map((color) => {
    const env = app.colors[color];
    const instances =
      env.instances.length === 0
        ? '-'
        : env.instances.map((i) => `${i.address} ${i.healthy ? 'up' : 'DOWN'}`).join(', ');
    return [
      color,
      env.role,
      env.release ?? '-',
      String(env.inflight),
      String(env.websockets),
      String(env.requests),
      instances,
    ];
  });
  const table = formatTable(
    ['color', 'role', 'release', 'in-flight', 'websockets', 'requests', 'instances'],
    rows,
  );
  const flips = app.flips.slice(-SHOWN_FLIPS).reverse();
  const flipLines =
    flips.length === 0
      ? ['no flips yet']
      : flips.map(
          (flip) =>
            `${flip.at}  ${flip.kind.padEnd(8)}  ${flip.from ?? 'none'} -> ${flip.to} (${flip.release})  ` +
            `${formatDuration(flip.durationMs)}  generation ${flip.generation}`,
        );
  const stragglers = COLORS.filter((color) => app.colors[color].stragglers !== undefined).map(
    (color) => `${color} ${app.colors[color].stragglers ?? 0}`,
  );
  return [
    `${app.name}: ${live}, ${hosts}`,
    indent(table, 2),
    ...formatSplitLines(app),
    ...(stragglers.length === 0
      ? []
      : [
          `  DNS stragglers (requests to a color's own address while not live): ${stragglers.join(', ')}`,
        ]),
    '  last flips:',
    indent(flipLines.join('\n'), 4),
  ].join('\n');
}
