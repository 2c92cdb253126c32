// ALTER COLUMN ... DROP DEFAULT on a NOT NULL column: the serving version's INSERTs that rely on
// the default now fail. The linter cannot see whether the column is NOT NULL (no live schema),
// so it flags DROP DEFAULT on an existing table unless this file shows the column is nullable
// (it was added without NOT NULL, or DROP NOT NULL ran on it earlier in the file).
import type { AlterTableCmd, ColumnDef } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName, statementsBefore } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'drop-default-not-null',
  title: 'DROP DEFAULT on a NOT NULL column',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    if (!alter.commands.some(isDropDefault)) return [];
    const table = relationName(alter.relation);
    const earlier = [...statementsBefore(statement, context), statement].flatMap((other) => {
      const otherAlter = alterTableCommands(other);
      return otherAlter !== undefined && relationName(otherAlter.relation) === table
        ? otherAlter.commands
        : [];
    });
    return alter.commands
      .filter(isDropDefault)
      .filter((command) => !knownNullable(command.name ?? '', earlier))
      .map((command) => ({
        message: `Dropping the default of ${table}.${command.name ?? '?'} breaks the version still serving if the column is NOT NULL: its INSERTs that leave the column out relied on the default and now fail.`,
        fix: `Release a version that always sets ${command.name ?? 'the column'}, then drop the default in a contract migration (\`-- cutover:phase contract\`). If the column is nullable, suppress with that reason.`,
      }));
  },
};

function isDropDefault(command: AlterTableCmd): boolean {
  return command.subtype === 'AT_ColumnDefault' && command.def === undefined;
}

function knownNullable(column: string, commands: readonly AlterTableCmd[]): boolean {
  return commands.some((command) => {
    if (command.subtype === 'AT_DropNotNull') return command.name === column;
    if (command.subtype !== 'AT_AddColumn') return false;
    const definition = (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef;
    if (definition?.colname !== column) return false;
    return !(definition.constraints ?? []).some(
      (node) =>
        'Constraint' in node &&
        ['CONSTR_NOTNULL', 'CONSTR_PRIMARY'].includes(node.Constraint.contype ?? ''),
    );
  });
}
