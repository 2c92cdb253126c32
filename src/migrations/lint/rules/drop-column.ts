// ALTER TABLE ... DROP COLUMN on a table the serving version uses: its SELECTs and INSERTs that
// name the column fail at once (and an ORM that lists every column fails on every query).
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'drop-column',
  title: 'DROP COLUMN of a column the serving version uses',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_DropColumn')
      .map((command) => ({
        message: `Dropping ${table}.${command.name ?? '?'} breaks the version still serving: every query that names the column (and any ORM that selects all columns) fails.`,
        fix: `Release a version that no longer reads or writes ${command.name ?? 'the column'} (ignore it in the ORM), let the old color retire, then drop the column in a contract migration (\`-- cutover:phase contract\`).`,
      }));
  },
};
