// SET NOT NULL scans the whole table for NULLs while holding ACCESS EXCLUSIVE, unless a
// validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+ then skips the scan).
// The CHECK can be added NOT VALID (instant) and validated under SHARE UPDATE EXCLUSIVE.
import type { AlterTableCmd, Constraint, Node } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'set-not-null-without-check',
  title: 'SET NOT NULL without a validated CHECK (col IS NOT NULL)',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_SetNotNull')
      .filter((command) => !provenNotNull(table, command.name ?? '', statement.index, context))
      .map((command) => {
        const column = command.name ?? '';
        const check = `${table.replace(/^.*\./, '')}_${column}_not_null`;
        return {
          message: `SET NOT NULL on ${table}.${column} scans every row of ${table} for NULLs while holding an ACCESS EXCLUSIVE lock: every read and write of ${table} waits for the whole scan.`,
          fix: `First \`ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID\`; in a later migration \`ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}\`, then SET NOT NULL (PostgreSQL 12+ uses the validated CHECK and skips the scan), then drop the CHECK.`,
        };
      });
  },
};

/**
 * Whether an earlier statement of the file validated a CHECK (column IS NOT NULL) on the table:
 * added without NOT VALID, or added NOT VALID and then VALIDATEd. A VALIDATE of a constraint
 * defined in an earlier migration counts when its name mentions the column (the usual
 * `<table>_<column>_not_null`): the file cannot see that constraint's expression.
 */
function provenNotNull(
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
