// Whether a column is already proven free of NULLs by a validated CHECK (col IS NOT NULL)
// earlier in the same file: PostgreSQL 12+ then skips SET NOT NULL's full scan, and the VALIDATE
// is where existing NULLs would have failed.
import type { AlterTableCmd, Constraint, Node } from 'libpg-query';
import type { LintFileContext } from '../lint-types.ts';
import { alterTableCommands, relationName } from '../sql-ast.ts';

/**
 * Whether an earlier statement of the file validated a CHECK (column IS NOT NULL) on the table:
 * added without NOT VALID, or added NOT VALID and then VALIDATEd. A VALIDATE of a constraint
 * defined in an earlier migration counts when its name mentions the column (the usual
 * `<table>_<column>_not_null`): the file cannot see that constraint's expression.
 */
export function provenNotNull(
  table: string,
  column: string,
  before: number,
  context: LintFileContext,
): boolean {
  const checks = new Map<string, boolean>();
  for (const statement of context.statements.slice(0, before)) {
    const alter = alterTableCommands(statement);
    if (alter === undefined || relationName(alter.relation) !== table) continue;
    for (const command of alter.commands) {
      const constraint = addedConstraint(command);
      if (constraint !== undefined && isNotNullCheck(constraint, column)) {
        if (constraint.skip_validation !== true) return true;
        checks.set(constraint.conname ?? '', true);
      }
      if (command.subtype === 'AT_ValidateConstraint') {
        const name = command.name ?? '';
        if (checks.has(name) || name.toLowerCase().includes(column.toLowerCase())) return true;
      }
    }
  }
  return false;
}

function addedConstraint(command: AlterTableCmd): Constraint | undefined {
  const def: Node | undefined = command.def;
  return command.subtype === 'AT_AddConstraint' && def !== undefined && 'Constraint' in def
    ? def.Constraint
    : undefined;
}

function isNotNullCheck(constraint: Constraint, column: string): boolean {
  const expression = constraint.raw_expr;
  if (constraint.contype !== 'CONSTR_CHECK' || expression === undefined) return false;
  if (!('NullTest' in expression)) return false;
  const test = expression.NullTest;
  const argument = test.arg;
  if (test.nulltesttype !== 'IS_NOT_NULL' || argument === undefined) return false;
  if (!('ColumnRef' in argument)) return false;
  const fields = argument.ColumnRef.fields ?? [];
  const last = fields.at(-1);
  return last !== undefined && 'String' in last && last.String.sval === column;
}
