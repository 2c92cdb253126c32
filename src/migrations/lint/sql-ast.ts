// Small readers of libpg-query's JSON AST shared by the rules: names of relations, types and
// columns, the commands of an ALTER TABLE, and whether a table is new in this run.
import type { AlterTableCmd, Node, RangeVar, TypeName } from 'libpg-query';
import type { LintFileContext, LintStatement } from './lint-types.ts';

const UNPARSED_CREATE_TABLE =
  /^create\s+(?:temp(?:orary)?\s+)?table\s+(?:if\s+not\s+exists\s+)?([`"[]?[\w.]+[`"\]]?)/i;

/** `schema.table` when qualified, else `table` (names are already case-folded by the parser). */
export function relationName(relation: RangeVar | undefined): string {
  if (relation === undefined) return '';
  const name = relation.relname ?? '';
  return relation.schemaname === undefined ? name : `${relation.schemaname}.${name}`;
}

/** Whether the table was created earlier in this file or in a pending migration of this run. */
export function isNewTable(context: LintFileContext, relation: RangeVar | undefined): boolean {
  if (relation?.relname === undefined) return false;
  return (
    context.newTables.has(relationName(relation)) ||
    (relation.schemaname === 'public' && context.newTables.has(relation.relname)) ||
    (relation.schemaname === undefined && context.newTables.has(`public.${relation.relname}`))
  );
}

/** The `sval`s of a list of String nodes (`names`, `typeName`), dotted. */
export function dottedName(nodes: readonly Node[] | undefined): string {
  return (nodes ?? [])
    .map((node) => ('String' in node ? (node.String.sval ?? '') : ''))
    .filter((part) => part !== '')
    .join('.');
}

/** A type as written, e.g. `varchar(20)`, `pg_catalog.int8` shown as `int8`. */
export function typeLabel(type: TypeName | undefined): string {
  if (type === undefined) return '';
  const name = dottedName(type.names).replace(/^pg_catalog\./, '');
  const mods = (type.typmods ?? [])
    .map((node) => {
      if ('A_Const' in node) {
        const value = node.A_Const.ival?.ival ?? 0;
        return String(value);
      }
      return '?';
    })
    .join(',');
  return mods === '' ? name : `${name}(${mods})`;
}

/** The node of a statement of the kind, or undefined. */
export function nodeOf<T>(statement: LintStatement, kind: string): T | undefined {
  return statement.kind === kind ? (statement.node as T) : undefined;
}

/** The commands of an `ALTER TABLE`, with their relation. */
export function alterTableCommands(
  statement: LintStatement,
): { readonly relation: RangeVar | undefined; readonly commands: AlterTableCmd[] } | undefined {
  const node = nodeOf<{ relation?: RangeVar; cmds?: Node[]; objtype?: string }>(
    statement,
    'AlterTableStmt',
  );
  if (node === undefined || (node.objtype !== undefined && node.objtype !== 'OBJECT_TABLE')) {
    return undefined;
  }
  const commands = (node.cmds ?? []).flatMap((cmd) =>
    'AlterTableCmd' in cmd ? [cmd.AlterTableCmd] : [],
  );
  return { relation: node.relation, commands };
}

/** Tables a statement creates (`CREATE TABLE`, `CREATE TABLE ... AS`), by relationName. */
export function createdTables(statement: LintStatement): string[] {
  if (statement.kind === 'CreateStmt') {
    return [relationName((statement.node as { relation?: RangeVar }).relation)];
  }
  if (statement.kind === 'CreateTableAsStmt') {
    const into = (statement.node as { into?: { rel?: RangeVar }; objtype?: string }).into;
    return [relationName(into?.rel)];
  }
  if (statement.kind === 'Unparsed') {
    const match = UNPARSED_CREATE_TABLE.exec(statement.sql);
    if (match?.[1] === undefined) return [];
    // A quoted name keeps its case (as the parser keeps it); an unquoted one folds to lower case.
    const name = match[1];
    return /^[`"[]/.test(name) ? [name.slice(1, -1)] : [name.toLowerCase()];
  }
  return [];
}

/** Like isNewTable, for a dotted name (`schema.table` or `table`). */
export function isNewTableName(context: LintFileContext, name: string): boolean {
  const dot = name.lastIndexOf('.');
  const relation: RangeVar =
    dot === -1
      ? { relname: name }
      : { schemaname: name.slice(0, dot), relname: name.slice(dot + 1) };
  return isNewTable(context, relation);
}

/** The dotted names a `DROP ...` statement removes. */
export function droppedNames(objects: readonly Node[] | undefined): string[] {
  return (objects ?? []).map((object) => {
    if ('List' in object) return dottedName(object.List.items);
    if ('String' in object) return object.String.sval ?? '';
    if ('TypeName' in object) return dottedName(object.TypeName.names);
    if ('ObjectWithArgs' in object) return dottedName(object.ObjectWithArgs.objname);
    return '';
  });
}

/** The statements of the file before `statement`. */
export function statementsBefore(
  statement: LintStatement,
  context: LintFileContext,
): readonly LintStatement[] {
  return context.statements.slice(0, statement.index);
}
