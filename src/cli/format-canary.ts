// The canary steps of a deployment for people (issue 5): one line per step with the canary's
// and the live color's numbers and the verdict, in `cutover deploy`'s summary and
// `cutover history --deployments`.
import type { CanaryColorFigures, DeploymentReport } from '../client/api-types.ts';

function figures(figure: CanaryColorFigures): string {
  const rate = `${(figure.errorRate * 100).toFixed(1)}% errors (${figure.errors}/${figure.requests})`;
  return figure.p99Ms === null ? rate : `${rate}, p99 ${figure.p99Ms} ms`;
}

/** Lines indented under the deployment, `indent` spaces deep; none without canary steps. */
export function canaryLines(report: DeploymentReport, indent = 2): string[] {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  const steps = report.canary?.steps ?? [];
  if (steps.length > 0)
    lines.push(`${pad}canary: ${steps.length} ${steps.length === 1 ? 'step' : 'steps'} judged`);
  for (const step of steps) {
    const head = `${pad}  step ${step.index + 1} (${step.percent}%): ${step.verdict}`;
    lines.push(`${head}; canary ${figures(step.canary)}; live ${figures(step.live)}`);
    if (step.verdict === 'failed' && step.reason !== null) lines.push(`${pad}    ${step.reason}`);
  }
  if (report.promoted !== undefined) {
    lines.push(
      `${pad}promoted by ${report.promoted.by} at ${report.promoted.at} (after ${report.promoted.shiftIndex} ${report.promoted.shiftIndex === 1 ? 'step' : 'steps'})`,
    );
  }
  return lines;
}
