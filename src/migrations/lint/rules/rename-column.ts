// Renaming a column breaks every query of the serving version that names it, at once.
import type { RenameStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'rename-column',
  title: 'Rename a column',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'RenameStmt') return [];
    const rename = statement.node as RenameStmt;
    if (rename.renameType !== 'OBJECT_COLUMN' || isNewTable(context, rename.relation)) return [];
    const table = relationName(rename.relation);
    const from = rename.subname ?? '?';
    const to = rename.newname ?? '?';
    return [
      {
        message: `Renaming ${table}.${from} to ${to} breaks the version still serving: its queries name ${from} and fail with "column does not exist".`,
        fix: `Expand/contract: add the column ${to}, release a version that writes both ${from} and ${to} (or a trigger that copies ${from} into ${to}), backfill ${to} from ${from}, switch reads to ${to}, and drop ${from} in a contract migration once the old color is retired.`,
      },
    ];
  },
};
