// ALTER COLUMN ... TYPE that is not a widening changes what the serving version reads and what
// it may write. When the earlier migrations of the folder declare the column's type (the schema
// model), the change is judged against it: varchar(64) -> varchar(12), numeric precision down,
// int8 -> int4, text -> varchar(n) are narrowings; varchar(n) -> varchar(m > n) or text,
// int -> bigint are widenings. Without it, the linter judges the target: text, varchar (any
// length: taken as a longer one), unconstrained or larger numeric, bigint and double precision
// are taken as widenings. Either way a USING clause that converts the values (`USING
// col::<the new type>` is no conversion) is flagged.
// int -> bigint is compatible for readers, but it rewrites the table: table-rewrite flags that.
import type { AlterTableCmd, ColumnDef, Node, TypeCast } from 'libpg-query';
import { columnTypeOf, formatColumnType, isWideningOf } from '../column-types.ts';
import type { ColumnType } from '../column-types.ts';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, dottedName, isNewTable, relationName, typeLabel } from '../sql-ast.ts';

/** Targets that only widen the family they belong to (see the header comment). */
const WIDENING_TARGETS = new Set([
  'text',
  'varchar',
  'numeric',
  'int8',
  'float8',
  'varbit',
  'citext',
]);

export const rule: Rule = {
  id: 'change-column-type',
  title: 'Column type change that is not a widening',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_AlterColumnType')
      .flatMap((command) => {
        const column = command.name ?? '?';
        const old = context.schema?.columnType(alter.relation, column);
        if (isWidening(command, old)) return [];
        const target = typeLabel(
          (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef?.typeName,
        );
        const from = old === undefined ? '' : ` from ${formatColumnType(old)}`;
        return {
          message: `Changing ${table}.${column}${from} to ${target} is not a widening: the version still serving reads values of a different type (or converted by USING) and may write values the new type refuses.`,
          fix: `Expand/contract: add a column ${column}_new ${target}, release a version that writes both and reads ${column}, backfill ${column}_new in batches, switch reads to it, and drop ${column} in a contract migration. If this only widens (varchar(10) -> varchar(20)), suppress with that reason.`,
        };
      });
  },
};

/** Widening against the type the earlier migrations gave the column, else by the target alone. */
function isWidening(command: AlterTableCmd, old: ColumnType | undefined): boolean {
  const definition = (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef;
  if (definition?.raw_default !== undefined && !isPlainCast(command.name, definition)) return false;
  const target = columnTypeOf(definition?.typeName);
  if (old !== undefined && target !== undefined) return isWideningOf(old, target);
  const names = (definition?.typeName?.names ?? []).map((node) =>
    'String' in node ? (node.String.sval ?? '') : '',
  );
  const name = names[names.length - 1] ?? '';
  if ((definition?.typeName?.arrayBounds ?? []).length > 0) return false;
  return WIDENING_TARGETS.has(name);
}

/** `USING col::type` (the column cast to the new type itself) converts nothing more. */
function isPlainCast(column: string | undefined, definition: ColumnDef): boolean {
  const cast = (definition.raw_default as { TypeCast?: TypeCast } | undefined)?.TypeCast;
  const ref = (cast?.arg as { ColumnRef?: { fields?: Node[] } } | undefined)?.ColumnRef;
  const field = ref?.fields?.length === 1 ? ref.fields[0] : undefined;
  const name = field !== undefined && 'String' in field ? field.String.sval : undefined;
  const target = (names: readonly Node[] | undefined) =>
    dottedName(names).replace(/^pg_catalog\./, '');
  return (
    name !== undefined &&
    name === column &&
    target(cast?.typeName?.names) === target(definition.typeName?.names)
  );
}
