// ALTER COLUMN ... SET NOT NULL: the serving version may still insert rows without the column
// (it predates it, or leaves it empty), and those INSERTs now fail. Allowed in a contract
// migration, once every running version writes the column.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'set-not-null',
  title: 'SET NOT NULL on an existing column',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_SetNotNull')
      .map((command) => ({
        message: `SET NOT NULL on ${table}.${command.name ?? '?'} breaks the version still serving if it ever inserts or updates a row without a value there: those writes now fail.`,
        fix: `Release a version that always writes ${command.name ?? 'the column'}, backfill the NULLs, then set NOT NULL in a contract migration (\`-- cutover:phase contract\`), after a validated CHECK (${command.name ?? 'c'} IS NOT NULL) NOT VALID constraint to avoid the full scan.`,
      }));
  },
};
