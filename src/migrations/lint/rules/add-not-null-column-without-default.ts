// ADD COLUMN ... NOT NULL with no default: the serving version's INSERTs do not name the new
// column, so every one fails the NOT NULL check (and on a table with rows the ALTER itself
// fails). A default, an identity, a generated column or a serial type fills it, so those pass.
import type { ColumnDef } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

const FILLED_BY = new Set(['CONSTR_DEFAULT', 'CONSTR_IDENTITY', 'CONSTR_GENERATED']);
const SERIAL_TYPES = new Set([
  'serial',
  'bigserial',
  'smallserial',
  'serial4',
  'serial8',
  'serial2',
]);

export const rule: Rule = {
  id: 'add-not-null-column-without-default',
  title: 'ADD COLUMN ... NOT NULL without a default',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_AddColumn')
      .map((command) => (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef)
      .filter((column): column is ColumnDef => column !== undefined && needsValue(column))
      .map((column) => ({
        message: `Adding ${table}.${column.colname ?? '?'} as NOT NULL without a default breaks the version still serving: its INSERTs do not set the column and fail the NOT NULL check (and the ALTER fails if ${table} has rows).`,
        fix: `Add the column with a constant default (\`ADD COLUMN ${column.colname ?? 'c'} ... NOT NULL DEFAULT <value>\`, no table rewrite since PostgreSQL 11), or add it nullable, release a version that writes it, backfill, and set NOT NULL in a contract migration.`,
      }));
  },
};

function needsValue(column: ColumnDef): boolean {
  const kinds = (column.constraints ?? []).flatMap((node) =>
    'Constraint' in node ? [node.Constraint.contype ?? ''] : [],
  );
  const notNull = kinds.includes('CONSTR_NOTNULL') || kinds.includes('CONSTR_PRIMARY');
  const typeName = column.typeName?.names ?? [];
  const last = typeName[typeName.length - 1];
  const serial = last !== undefined && 'String' in last && SERIAL_TYPES.has(last.String.sval ?? '');
  return notNull && !serial && !kinds.some((kind) => FILLED_BY.has(kind));
}
