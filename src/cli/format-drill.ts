// The human report of a rollback drill: the measured RTO against its objective, the failed
// requests (must be zero), and each phase's flip, recovery and probes.
import type { DrillPhase, DrillReport } from '../client/api-types.ts';
import { formatDuration } from './parse-duration.ts';

export function formatDrillReport(report: DrillReport): string {
  const verdict = report.passed ? 'passed' : 'FAILED';
  const lines = [
    `${report.app}: drill ${verdict}: RTO ${formatDuration(report.rtoMs)} (objective ${formatDuration(report.objectiveMs)}), ` +
      `${report.failedRequests} failed requests of ${report.requests}`,
    `  back:     ${describePhase(report.back)}`,
    report.forward === null
      ? '  forward:  not run (the drill stopped after the rollback phase)'
      : `  forward:  ${describePhase(report.forward)}`,
    `  took ${formatDuration(report.durationMs)}, started ${report.startedAt}`,
  ];
  if (report.reason !== null) lines.push(`  reason: ${report.reason}`);
  return lines.join('\n');
}

function describePhase(phase: DrillPhase): string {
  const flip = phase.flip;
  const verify = phase.verify;
  const probes = `${verify.probes} probes in ${formatDuration(verify.durationMs)}`;
  const verdict = verify.ok
    ? `verify ok, ${probes}`
    : `verify FAILED: ${verify.reason ?? 'a probe failed'} (${probes})`;
  return (
    `${flip.from ?? 'nothing'} -> ${flip.to} (${flip.release}): flip ${formatDuration(flip.durationMs)}, ` +
    `recovery ${formatDuration(phase.recoveryMs)}, ${verdict}`
  );
}
