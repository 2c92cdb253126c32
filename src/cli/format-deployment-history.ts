// `cutover history --deployments` for people: one block per deployment (outcome, per-step
// durations, smoke and probe results, reason) and one line per drill from the history events.
import type { DeploymentView, HistoryEntry } from '../client/api-types.ts';
import { finishedStepLines, formatStepDuration } from './format-deployment.ts';
import { canaryLines } from './format-canary.ts';
import { driftCheckLines } from './format-drift-check.ts';
import { rollingLines } from './format-rolling.ts';
import { formatDuration } from './parse-duration.ts';

export function formatDeploymentHistory(
  deployments: readonly DeploymentView[],
  drills: readonly HistoryEntry[],
): string {
  const blocks = [
    deployments.length === 0
      ? 'no deployments yet'
      : ['deployments (newest first):', ...deployments.map(formatDeploymentBlock)].join('\n'),
  ];
  if (drills.length > 0) {
    blocks.push(['drills (newest first):', ...drills.map(formatDrillLine)].join('\n'));
  }
  return blocks.join('\n\n');
}

export function formatDeploymentBlock(view: DeploymentView): string {
  const state = view.ended ? (view.outcome ?? view.step) : `running (${view.step})`;
  const end = Date.parse(view.endedAt ?? view.updatedAt) - Date.parse(view.startedAt);
  const took = Number.isFinite(end) ? `, ${formatStepDuration(Math.max(0, end))}` : '';
  const colors = `${view.from ?? 'nothing'} -> ${view.to ?? '?'}`;
  const lines = [
    `  ${view.id}  ${view.app} ${view.release}  ${state}  ${view.startedAt}${took}  ${colors}`,
  ];
  const steps = finishedStepLines(view).map((line) => line.text.replace(/: .*$/, ''));
  if (steps.length > 0) lines.push(`    steps: ${steps.join(', ')}`);
  const results = resultsOf(view);
  if (results.length > 0) lines.push(`    ${results.join('; ')}`);
  lines.push(...canaryLines(view.report, 4));
  lines.push(...rollingLines(view.report, 4));
  lines.push(...driftCheckLines(view.report, 4));
  if (view.reason !== null) lines.push(`    reason: ${view.reason}`);
  return lines.join('\n');
}

function resultsOf(view: DeploymentView): string[] {
  const report = view.report;
  const results: string[] = [];
  if (report.smoke !== undefined) {
    const passed = report.smoke.checks.filter((check) => check.outcome === 'passed').length;
    results.push(`smoke ${passed}/${report.smoke.checks.length} passed`);
  }
  if (report.warmup !== undefined) {
    results.push(`warm-up ${report.warmup.sent} sent, ${report.warmup.failed} failed`);
  }
  if (report.flip !== undefined) results.push(`flip ${formatDuration(report.flip.durationMs)}`);
  if (report.verify !== undefined) {
    results.push(`probes ${report.verify.probes}, ${report.verify.failedProbes} failed`);
  }
  if (report.flipBack !== undefined) {
    results.push(`flip back ${formatDuration(report.flipBack.durationMs)}`);
  }
  if (report.drain !== undefined) {
    results.push(
      `drain ${report.drain.completed} completed, ${report.drain.aborted} at the deadline`,
    );
  }
  return results;
}

/** A drill event's data is the daemon's drill report (or part of it): show what is there. */
export function formatDrillLine(event: HistoryEntry): string {
  const data = event.data;
  const passed = data.passed === true ? 'passed' : data.passed === false ? 'FAILED' : 'ran';
  const parts = [`  ${event.at}  ${event.app}  drill ${passed}`];
  if (typeof data.rtoMs === 'number') {
    const objective =
      typeof data.objectiveMs === 'number'
        ? ` (objective ${formatDuration(data.objectiveMs)})`
        : '';
    parts.push(`RTO ${formatDuration(data.rtoMs)}${objective}`);
  }
  if (typeof data.failedRequests === 'number') {
    const of = typeof data.requests === 'number' ? ` of ${data.requests}` : '';
    parts.push(`${data.failedRequests} failed requests${of}`);
  }
  if (typeof data.reason === 'string') parts.push(`reason: ${data.reason}`);
  return parts.join('  ');
}
