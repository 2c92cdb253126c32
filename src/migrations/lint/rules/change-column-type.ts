// ALTER COLUMN ... TYPE that is not a widening changes what the serving version reads and what
// it may write. The linter cannot see the column's current type (there is no live schema here),
// so it judges the target: text, varchar (any length: taken as a longer one), unconstrained or
// larger numeric, bigint and double precision are taken as widenings when no USING
// clause converts the values (`USING col::<the new type>` is no conversion); any other USING
// expression and every other target are flagged.
// int -> bigint is compatible for readers, but it rewrites the table: table-rewrite flags that.
import type { AlterTableCmd, ColumnDef, Node, TypeCast } from 'libpg-query';
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
      .filter((command) => command.subtype === 'AT_AlterColumnType' && !isWidening(command))
      .map((command) => {
        const column = command.name ?? '?';
        const target = typeLabel(
          (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef?.typeName,
        );
        return {
          message: `Changing ${table}.${column} to ${target} is not a widening: the version still serving reads values of a different type (or converted by USING) and may write values the new type refuses.`,
          fix: `Expand/contract: add a column ${column}_new ${target}, release a version that writes both and reads ${column}, backfill ${column}_new in batches, switch reads to it, and drop ${column} in a contract migration. If this only widens (varchar(10) -> varchar(20)), suppress with that reason.`,
        };
      });
  },
};

function isWidening(command: AlterTableCmd): boolean {
  const definition = (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef;
  if (definition?.raw_default !== undefined && !isPlainCast(command.name, definition)) return false;
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
