// The text of `cutover migrations status|plan|contract`: what is applied (phase, release, time),
// what a deployment would apply, what waits for the contract phase, and what was edited.
import type { MigrationsContractResponse, MigrationsPlanResponse } from '../client/api-types.ts';
import { formatTable, indent } from './format-table.ts';

function list(names: readonly string[]): string {
  return names.length === 0 ? '  none' : names.map((name) => `  ${name}`).join('\n');
}

function appliedTable(plan: MigrationsPlanResponse): string {
  if (plan.applied.length === 0) return '  none';
  const rows = plan.applied.map((row) => [row.name, row.phase, row.release, row.appliedAt]);
  return indent(formatTable(['NAME', 'PHASE', 'RELEASE', 'APPLIED AT'], rows), 2);
}

function changedLines(plan: MigrationsPlanResponse, what: string): string[] {
  if (plan.changed.length === 0) return [];
  return [
    `changed since applied (${what}):`,
    list(plan.changed),
    '  cutover never re-runs or edits an applied migration: restore those files and add a new one instead',
  ];
}

/** `cutover migrations status`: the live release against its database. */
export function formatMigrationsStatus(plan: MigrationsPlanResponse): string {
  return [
    `${plan.app} ${plan.release} (live): ${plan.database} (${plan.dialect})`,
    'applied:',
    appliedTable(plan),
    'pending (expand, applied by the next deployment of this release):',
    list(plan.pending),
    contractHeading(plan),
    list(plan.contractPending),
    ...changedLines(plan, 'a deployment would be refused'),
  ].join('\n');
}

/** The status line over the contract files: what holds them back, and who runs them. */
function contractHeading(plan: MigrationsPlanResponse): string {
  const contract = plan.contract;
  if (contract === undefined) {
    return 'contract pending (run with `cutover migrations contract` once the standby is retired):';
  }
  if (contract.heldBy !== null) {
    const then =
      contract.mode === 'auto'
        ? 'the daemon runs them once it is retired (migrations.contract: auto)'
        : 'then run `cutover migrations contract` (migrations.contract: manual)';
    return `contract pending (waiting: ${contract.heldBy}; ${then}):`;
  }
  return 'contract pending (nothing holds them back: run `cutover migrations contract`):';
}

/** `cutover migrations plan`: what a deployment of the release would do to the database. */
export function formatMigrationsPlan(plan: MigrationsPlanResponse): string {
  const verdict =
    plan.changed.length > 0
      ? `a deployment of ${plan.release} would be refused: applied migrations were edited`
      : plan.pending.length === 0 && plan.contractPending.length === 0
        ? `${plan.release} needs no migration`
        : `a deployment of ${plan.release} would apply ${count(plan.pending.length)}` +
          (plan.contractPending.length === 0
            ? ''
            : `; ${count(plan.contractPending.length)} wait for the contract phase`);
  return [
    `${plan.app} ${plan.release}: ${plan.database} (${plan.dialect})`,
    `applied: ${plan.applied.length === 0 ? 'none' : plan.applied.map((row) => row.name).join(', ')}`,
    'a deployment would apply (expand):',
    list(plan.pending),
    'held for the contract phase (after the standby is retired):',
    list(plan.contractPending),
    ...changedLines(plan, 'the deployment is refused'),
    verdict,
  ].join('\n');
}

/** `cutover migrations contract`: what it applied. */
export function formatMigrationsContract(result: MigrationsContractResponse): string {
  if (result.applied.length === 0) {
    return `${result.app} ${result.release}: no contract migration pending`;
  }
  const lines =
    result.files === undefined
      ? list(result.applied)
      : result.files.map((file) => `  ${file.name} (${file.durationMs} ms)`).join('\n');
  return [
    `${result.app} ${result.release}: applied ${count(result.applied.length)} in ${result.durationMs} ms`,
    lines,
  ].join('\n');
}

function count(n: number): string {
  return `${n} migration${n === 1 ? '' : 's'}`;
}
