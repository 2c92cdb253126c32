// ALTER COLUMN ... DROP NOT NULL is compatible for writers, but the version still serving may
// read a NULL written by the new version where it never expected one. A warning.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'drop-not-null',
  title: 'DROP NOT NULL on an existing column',
  category: 'compatibility',
  severity: 'warning',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_DropNotNull')
      .map((command) => ({
        message: `${table}.${command.name ?? '?'} may now hold NULL: the version still serving may read a NULL the new version writes and fail where it assumed a value.`,
        fix: `Check that the serving version handles NULL in ${command.name ?? 'the column'} (or keep writing a value until the old color retires); suppress with that reason once checked.`,
      }));
  },
};
