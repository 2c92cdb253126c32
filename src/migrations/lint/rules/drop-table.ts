// DROP TABLE of a table the serving version reads: its next query fails. Tables created in this
// run are new (no reader yet); `DROP TABLE IF EXISTS x` followed by `CREATE TABLE x` in the same
// file is the idempotent-create pattern; a SQLite rebuild (drop, then rename the copy into its
// place) is judged by sqlite-table-rebuild instead.
import type { DropStmt, RenameStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { createdTables, droppedNames, isNewTableName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'drop-table',
  title: 'DROP TABLE of a table the serving version uses',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'DropStmt') return [];
    const drop = statement.node as DropStmt;
    if (drop.removeType !== 'OBJECT_TABLE') return [];
    const later = context.statements.slice(statement.index + 1);
    return droppedNames(drop.objects)
      .filter((table) => !isNewTableName(context, table))
      .filter(
        (table) =>
          !(drop.missing_ok === true && later.some((s) => createdTables(s).includes(table))),
      )
      .filter(
        (table) => !(context.dialect === 'sqlite' && later.some((s) => renamesInto(s, table))),
      )
      .map((table) => ({
        message: `Dropping ${table} breaks the version still serving: its next query on ${table} fails with "relation does not exist".`,
        fix: `Stop using ${table} in a release first; once no running color reads or writes it, drop it in a contract migration (\`-- cutover:phase contract\`).`,
      }));
  },
};

function renamesInto(statement: LintStatement, table: string): boolean {
  if (statement.kind !== 'RenameStmt') return false;
  const rename = statement.node as RenameStmt;
  return rename.renameType === 'OBJECT_TABLE' && rename.newname === table.split('.').pop();
}
