// ALTER TYPE ... ADD VALUE is compatible for writers, but the version still serving may read a
// row holding the new value (written by the new version) and not know it: a switch without a
// default, an ORM enum that refuses unknown labels. A warning: check how the old version reads.
import type { AlterEnumStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { dottedName, statementsBefore } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'enum-add-value',
  title: 'Add an enum value',
  category: 'compatibility',
  severity: 'warning',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'AlterEnumStmt') return [];
    const alter = statement.node as AlterEnumStmt;
    const type = dottedName(alter.typeName);
    if (alter.oldVal !== undefined || alter.newVal === undefined) return [];
    const createdHere = statementsBefore(statement, context).some(
      (other) =>
        other.kind === 'CreateEnumStmt' &&
        dottedName((other.node as { typeName?: [] }).typeName) === type,
    );
    if (createdHere) return [];
    return [
      {
        message: `Adding '${alter.newVal}' to ${type}: the version still serving may read rows the new version writes with '${alter.newVal}' and fail on a value it does not know (an ORM enum, a switch without a default).`,
        fix: `Make sure the serving version tolerates unknown ${type} values (or release one that does first); suppress with that reason once checked.`,
      },
    ];
  },
};
