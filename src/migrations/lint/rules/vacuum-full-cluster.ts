// VACUUM FULL and CLUSTER write a new copy of the whole table (and its indexes) while holding
// ACCESS EXCLUSIVE: nothing reads or writes the table until the copy is done. Plain VACUUM and
// ANALYZE take SHARE UPDATE EXCLUSIVE and are fine.
import type { ClusterStmt, Node, VacuumStmt } from 'libpg-query';
import type { LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { relationName } from '../sql-ast.ts';

const FIX =
  'Do not reclaim space in a migration: use plain VACUUM (no lock on reads or writes), or an online repack (pg_repack, pg_squeeze) run as an operation outside the deployment.';

export const rule: Rule = {
  id: 'vacuum-full-cluster',
  title: 'VACUUM FULL / CLUSTER',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement): readonly RuleHit[] {
    if (statement.kind === 'VacuumStmt') {
      const vacuum = statement.node as VacuumStmt;
      if (vacuum.is_vacuumcmd !== true || !(vacuum.options ?? []).some(isFullOption)) return [];
      const tables = tablesOf(vacuum);
      return [
        {
          message: `VACUUM FULL rewrites ${tables} into a new file while holding an ACCESS EXCLUSIVE lock: every read and write waits for the whole copy (and it needs room for a second copy on disk).`,
          fix: FIX,
        },
      ];
    }
    if (statement.kind === 'ClusterStmt') {
      const relation = (statement.node as ClusterStmt).relation;
      const table =
        relation === undefined ? 'every previously clustered table' : relationName(relation);
      return [
        {
          message: `CLUSTER rewrites ${table} in index order while holding an ACCESS EXCLUSIVE lock: every read and write waits for the whole rewrite.`,
          fix: FIX,
        },
      ];
    }
    return [];
  },
};

/** `FULL`, `(FULL)`, `(FULL true)`; `(FULL false)` turns it off. */
function isFullOption(option: Node): boolean {
  if (!('DefElem' in option) || option.DefElem.defname !== 'full') return false;
  const argument = option.DefElem.arg;
  if (argument === undefined) return true;
  if ('Boolean' in argument) return argument.Boolean.boolval === true;
  if ('String' in argument)
    return !['false', 'off', '0'].includes((argument.String.sval ?? '').toLowerCase());
  if ('Integer' in argument)
    return argument.Integer.ival !== 0 && argument.Integer.ival !== undefined;
  return true;
}

function tablesOf(vacuum: VacuumStmt): string {
  const names = (vacuum.rels ?? []).flatMap((rel) =>
    'VacuumRelation' in rel ? [relationName(rel.VacuumRelation.relation)] : [],
  );
  return names.length === 0 ? 'every table of the database' : names.join(', ');
}
