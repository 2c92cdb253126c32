// The demo's report: what it deployed, how long the flips took, and the request counts that prove
// nothing was dropped. Pure: built from measurements, printed as text or JSON.
import { formatDuration } from '../parse-duration.ts';
import type { LoadResult } from './demo-load.ts';

export interface DemoDeploy {
  readonly release: string;
  readonly color: string;
  readonly healthMs: number;
  /** From the deploy command to the flip committed, health checks included (the daemon's measure). */
  readonly liveMs: number;
  readonly underLoad: boolean;
}

export interface DurationStats {
  readonly count: number;
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

export interface DemoReport {
  readonly ok: boolean;
  readonly daemon: { readonly public: string; readonly preview: string };
  readonly deploys: readonly DemoDeploy[];
  /** Rollbacks under load, as measured by the daemon (command received to commit on every worker). */
  readonly flips: DurationStats;
  /** The same rollbacks as seen by the client: command sent to answer received. */
  readonly flipCommands: DurationStats;
  readonly requests: LoadResult;
  readonly durationMs: number;
}

export function durationStats(samples: readonly number[]): DurationStats {
  if (samples.length === 0) return { count: 0, minMs: 0, medianMs: 0, maxMs: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] ?? 0)
      : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return {
    count: sorted.length,
    minMs: sorted[0] ?? 0,
    medianMs: median,
    maxMs: sorted.at(-1) ?? 0,
  };
}

/** The demo passes when every request was answered 200 by the release that was live. */
export function demoPassed(requests: LoadResult): boolean {
  return requests.failed === 0 && requests.misrouted === 0 && requests.ok > 0;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function stats(s: DurationStats): string {
  return `min ${formatDuration(s.minMs)}, median ${formatDuration(s.medianMs)}, max ${formatDuration(s.maxMs)}`;
}

export function formatDemoReport(report: DemoReport): string {
  const r = report.requests;
  const releases = Object.entries(r.byRelease)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([release, n]) => `${release} ${count(n)}`)
    .join(', ');
  const lines = [
    'cutover demo: the hello example app, blue-green, under load',
    `  daemon      public ${report.daemon.public}, preview ${report.daemon.preview}`,
    ...report.deploys.map(
      (d) =>
        `  deploy ${d.release.padEnd(4)} ${d.color}: healthy in ${formatDuration(d.healthMs)}, ` +
        `live ${formatDuration(d.liveMs)} after the command${d.underLoad ? ' (under load)' : ''}`,
    ),
    `  rollbacks   ${report.flips.count} under load: ${stats(report.flips)}`,
    `              as seen by the client: ${stats(report.flipCommands)}`,
    `  requests    ${count(r.total)} in ${formatDuration(r.durationMs)} (${releases}); ` +
      `${count(r.newConnections)} on new connections, ${count(r.posts)} POSTs, the rest keep-alive GETs`,
    `  failed      ${count(r.failed)}`,
    `  misrouted   ${count(r.misrouted)} of ${count(r.checkedAfterFlip)} requests sent after a flip landed on the old release`,
  ];
  if (r.errorSamples.length > 0) {
    lines.push('  first errors:', ...r.errorSamples.map((sample) => `    ${sample}`));
  }
  const flips = report.flips.count + report.deploys.filter((d) => d.underLoad).length;
  lines.push(
    report.ok
      ? `OK: ${count(r.total)} requests, 0 failed, across ${flips} flips under load (${formatDuration(report.durationMs)} in all)`
      : `FAILED: ${count(r.failed)} failed and ${count(r.misrouted)} misrouted requests`,
  );
  return lines.join('\n');
}
