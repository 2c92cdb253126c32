// Renaming a table (or view), or moving it to another schema, breaks every query of the
// serving version that names it. Tables created in this run have no such reader, and a rename
// followed in the same transaction by a view under the old name keeps the old name working.
import type { AlterObjectSchemaStmt, RenameStmt, ViewStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { isNewTable, relationName } from '../sql-ast.ts';

const RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FOREIGN_TABLE',
]);

export const rule: Rule = {
  id: 'rename-table',
  title: 'Rename a table or view (or move it to another schema)',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind === 'RenameStmt') {
      const rename = statement.node as RenameStmt;
      if (!RELATIONS.has(rename.renameType ?? '') || isNewTable(context, rename.relation)) {
        return [];
      }
      if (context.transactional && keptByView(statement, context, rename)) return [];
      return [hit(relationName(rename.relation), rename.newname ?? '?')];
    }
    if (statement.kind === 'AlterObjectSchemaStmt') {
      const move = statement.node as AlterObjectSchemaStmt;
      if (!RELATIONS.has(move.objectType ?? '') || isNewTable(context, move.relation)) return [];
      const table = relationName(move.relation);
      return [hit(table, `${move.newschema ?? '?'}.${move.relation?.relname ?? '?'}`)];
    }
    return [];
  },
};

/**
 * The compatibility-view pattern: the same transaction creates a view under the old name (a
 * simple `SELECT * FROM new_name` view is updatable), so the serving version never misses it.
 */
function keptByView(statement: LintStatement, context: LintFileContext, rename: RenameStmt) {
  const oldName = relationName(rename.relation);
  return context.statements
    .slice(statement.index + 1)
    .some(
      (other) =>
        other.kind === 'ViewStmt' && relationName((other.node as ViewStmt).view) === oldName,
    );
}

function hit(table: string, to: string): RuleHit {
  return {
    message: `Renaming ${table} to ${to} breaks the version still serving: its queries still name ${table} and fail with "relation does not exist".`,
    fix: `Expand/contract: create ${to} (or a view named ${to} over ${table} that the new version uses), release a version that uses ${to}, move the data, and drop ${table} in a contract migration once the old color is retired.`,
  };
}
