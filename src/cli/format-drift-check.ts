// A deployment's drift check for people (issue 5), in `cutover history --deployments`: how many
// keys differed from the live release, which were expected, and whether drift was enforced. A
// refusal's keys and values are already in the deployment's reason.
import type { DeploymentReport } from '../client/api-types.ts';

/** Lines indented under the deployment, `indent` spaces deep; none without a comparison. */
export function driftCheckLines(report: DeploymentReport, indent = 2): string[] {
  const check = report.drift;
  const comparison = check?.comparison ?? null;
  if (check === undefined || comparison === null) return [];
  const pad = ' '.repeat(indent);
  const keys = comparison.differences.filter((each) => each.key !== 'release');
  const drift = keys.filter((each) => each.expected === null).map((each) => each.key);
  const expected = keys.length - drift.length;
  const head = `${pad}drift check against ${comparison.from.release}: ${keys.length} ${keys.length === 1 ? 'key differs' : 'keys differ'}, ${expected} expected`;
  if (drift.length === 0) return [head];
  const verdict = !check.passed
    ? 'refused'
    : check.enforced
      ? 'drift'
      : 'reported, not refused (drift.enforce: false)';
  return [`${head}, ${drift.length} ${verdict}: ${drift.join(', ')}`];
}
