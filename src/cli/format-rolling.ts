// A rolling deployment's batches for people (issue 5): the shares, the failed batch and the way
// back to the old release, and the plain statement that rolling has no instant rollback, in
// `cutover deploy`'s summary and `cutover history --deployments`.
import type { DeploymentReport } from '../client/api-types.ts';

/** Lines indented under the deployment, `indent` spaces deep; none for other strategies. */
export function rollingLines(report: DeploymentReport, indent = 2): string[] {
  const rolling = report.rolling;
  if (rolling === undefined) return [];
  const pad = ' '.repeat(indent);
  const count = rolling.batches.length;
  const shares = rolling.batches.map((batch) => `${batch.percent}%`).join(', ');
  const lines = [
    `${pad}rolling: ${count} ${count === 1 ? 'batch' : 'batches'} of ${rolling.batch} (${shares === '' ? 'none' : shares}), ${rolling.liveTarget} instances replaced by ${rolling.target}`,
  ];
  for (const batch of rolling.batches.filter((each) => !each.ok)) {
    lines.push(`${pad}  ✗ ${batch.reason ?? `batch ${batch.index + 1} failed`}`);
  }
  const back = rolling.restored;
  if (back !== null) {
    const problem = back.problem === null ? '' : `: ${back.problem}`;
    lines.push(
      `${pad}back to the old release: ${back.live} of ${rolling.liveTarget} instances serve (${back.started} started again)${problem}`,
    );
  }
  lines.push(`${pad}${rolling.note}`);
  return lines;
}
