// The one-line human report of a flip, a rollback or a deploy, shared by those commands.
import type { DeployResponse, DrainSummary, FlipResponse } from '../client/api-types.ts';
import { formatDuration } from './parse-duration.ts';

export function describeFlip(flip: FlipResponse, verb: 'flipped' | 'rolled back'): string {
  const from = flip.from ?? 'nothing';
  const lines = [
    `${flip.app}: ${verb} ${from} -> ${flip.to} (${flip.release}) in ${formatDuration(flip.durationMs)}, generation ${flip.generation}`,
  ];
  if (flip.drain !== undefined && flip.from !== null)
    lines.push(describeDrain(flip.from, flip.drain));
  return lines.join('\n');
}

export function describeDrain(color: string, drain: DrainSummary): string {
  if (drain.cancelled) {
    return `  drain of ${color} cancelled after ${formatDuration(drain.durationMs)}: it became live again`;
  }
  return (
    `  drained ${color} in ${formatDuration(drain.durationMs)}: ${drain.completed} in-flight completed, ` +
    `${drain.aborted} ended at the deadline, ${drain.websocketsClosed} websockets closed`
  );
}

export function describeDeploy(deploy: DeployResponse): string {
  const flip = deploy.flip;
  const lines = [
    `${deploy.app}: deployed ${deploy.release} to ${deploy.color}`,
    `  health checks passed in ${formatDuration(deploy.healthMs)}`,
    // The daemon measures a deploy's flip from the deploy command, health checks included.
    `  flipped ${flip.from ?? 'nothing'} -> ${flip.to}, live ${formatDuration(flip.durationMs)} after the command, generation ${flip.generation}`,
  ];
  if (flip.drain !== undefined && flip.from !== null)
    lines.push(describeDrain(flip.from, flip.drain));
  return lines.join('\n');
}
