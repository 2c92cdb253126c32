// Renaming or dropping a schema: every query of the serving version that names it (or finds
// its tables through search_path) fails. Schemas created earlier in this file have no user yet.
import type { DropStmt, RenameStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { droppedNames, statementsBefore } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'rename-drop-schema',
  title: 'Rename or drop a schema',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'RenameStmt' && statement.kind !== 'DropStmt') return [];
    const created = new Set(
      statementsBefore(statement, context)
        .filter((other) => other.kind === 'CreateSchemaStmt')
        .map((other) => (other.node as { schemaname?: string }).schemaname ?? ''),
    );
    if (statement.kind === 'RenameStmt') {
      const rename = statement.node as RenameStmt;
      const schema = rename.subname ?? '';
      if (rename.renameType !== 'OBJECT_SCHEMA' || created.has(schema)) return [];
      return [
        {
          message: `Renaming the schema ${schema} to ${rename.newname ?? '?'} breaks the version still serving: its queries name ${schema} (or find its tables through search_path) and fail.`,
          fix: `Create the new schema and move objects one by one with expand/contract (or leave the schema name as it is); drop the old schema in a contract migration once the old color is retired.`,
        },
      ];
    }
    if (statement.kind === 'DropStmt') {
      const drop = statement.node as DropStmt;
      if (drop.removeType !== 'OBJECT_SCHEMA') return [];
      return droppedNames(drop.objects)
        .filter((schema) => !created.has(schema))
        .map((schema) => ({
          message: `Dropping the schema ${schema} breaks the version still serving: every table, view and function in it disappears${drop.behavior === 'DROP_CASCADE' ? ' (CASCADE drops them all)' : ''}.`,
          fix: `Stop using the schema in a release first, then drop it in a contract migration (\`-- cutover:phase contract\`).`,
        }));
    }
    return [];
  },
};
