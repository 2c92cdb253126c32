// SQLite's table rebuild (https://www.sqlite.org/lang_altertable.html#otheralter): create a new
// table, copy the rows, drop the old table, rename the new one into its place. It is how SQLite
// changes what ALTER TABLE cannot, and it silently drops every column the copy leaves out, which
// the version still serving reads and writes. The linter cannot see the old table's columns, so a
// copy that names its columns is flagged (suppress it, with the reason, when it names them all);
// `INSERT INTO new SELECT * FROM old` keeps them all, and a rebuild with no copy loses everything.
import type { DropStmt, InsertStmt, Node, RenameStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { droppedNames, isNewTableName, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'sqlite-table-rebuild',
  title: 'SQLite table rebuild that loses columns',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'DropStmt') return [];
    const drop = statement.node as DropStmt;
    if (drop.removeType !== 'OBJECT_TABLE') return [];
    const hits: RuleHit[] = [];
    for (const table of droppedNames(drop.objects)) {
      if (isNewTableName(context, table)) continue;
      const copy = context.statements
        .slice(statement.index + 1)
        .flatMap((other) => renamedInto(other, table))[0];
      if (copy === undefined) continue;
      const columns = copiedColumns(context.statements.slice(0, statement.index), copy, table);
      if (columns === 'all') continue;
      hits.push(
        columns === 'none'
          ? {
              message: `Rebuilding ${table} from ${copy} copies no rows from ${table}: its data and any column ${copy} lacks are lost under the version still serving.`,
              fix: `Copy the rows before the drop (\`INSERT INTO ${copy} SELECT * FROM ${table}\` or with every column named), inside the same transaction.`,
            }
          : {
              message: `Rebuilding ${table} copies only ${columns.join(', ')} into ${copy}: any other column of ${table} is lost, and the version still serving reads and writes it.`,
              fix: `Keep every column of ${table} in ${copy} while the old version serves; drop a column only in a contract migration. If the copy names all of ${table}'s columns, suppress with that reason.`,
            },
      );
    }
    return hits;
  },
};

/** The table renamed to `table` by `statement` (the rebuild's copy), if any. */
function renamedInto(statement: LintStatement, table: string): string[] {
  if (statement.kind !== 'RenameStmt') return [];
  const rename = statement.node as RenameStmt;
  if (rename.renameType !== 'OBJECT_TABLE') return [];
  return rename.newname === table.split('.').pop() ? [relationName(rename.relation)] : [];
}

/** How the rows of `table` reach `copy` before the drop: every column, named ones, or none. */
function copiedColumns(
  before: readonly LintStatement[],
  copy: string,
  table: string,
): 'all' | 'none' | string[] {
  const into = new RegExp(
    `^(?:insert|replace)(?:\\s+or\\s+\\w+)?\\s+into\\s+["\`]?${escape(copy)}["\`]?[\\s(]`,
    'i',
  );
  const from = new RegExp(`\\bfrom\\s+["\`]?${escape(table)}\\b`, 'i');
  for (const statement of before) {
    if (statement.kind === 'Unparsed') {
      if (into.test(statement.sql) && from.test(statement.sql)) {
        const list = /\bselect\s+([\s\S]*?)\s+from\b/i.exec(statement.sql)?.[1] ?? '';
        if (list.trim() === '*') return 'all';
        return list.split(',').map((column) => column.trim().replace(/^["`[]|["`\]]$/g, ''));
      }
      continue;
    }
    if (statement.kind !== 'InsertStmt') continue;
    const insert = statement.node as InsertStmt;
    if (relationName(insert.relation) !== copy) continue;
    const select = (
      insert.selectStmt as { SelectStmt?: { targetList?: Node[]; fromClause?: Node[] } } | undefined
    )?.SelectStmt;
    const fromTable = (select?.fromClause ?? []).some(
      (node) => 'RangeVar' in node && relationName(node.RangeVar) === table,
    );
    if (!fromTable) continue;
    const targets = select?.targetList ?? [];
    const star = targets.some((target) => JSON.stringify(target).includes('"A_Star"'));
    if (star) return 'all';
    return targets.map((target) => {
      const ref =
        'ResTarget' in target
          ? (target.ResTarget.val as { ColumnRef?: { fields?: Node[] } } | undefined)
          : undefined;
      const last = ref?.ColumnRef?.fields?.at(-1);
      return last !== undefined && 'String' in last ? (last.String.sval ?? '?') : '?';
    });
  }
  return 'none';
}

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
