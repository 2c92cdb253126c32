// Statements that make PostgreSQL rewrite every row of an existing table (and rebuild its
// indexes) while the ALTER TABLE holds ACCESS EXCLUSIVE: no read or write gets through for the
// whole rewrite. Since PostgreSQL 11 a non-volatile default (a constant, now(),
// current_timestamp: evaluated once) is stored in the catalog instead; a volatile one
// (random(), clock_timestamp(), gen_random_uuid(), nextval()) must be computed per row.
import type { AlterTableCmd, ColumnDef, Constraint, Node, TypeName } from 'libpg-query';
import { columnTypeOf, isInPlaceChange } from '../column-types.ts';
import type { ColumnType } from '../column-types.ts';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, dottedName, isNewTable, relationName, typeLabel } from '../sql-ast.ts';

const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'nextval',
  'txid_current',
]);

const SERIAL_TYPES = new Set([
  'serial',
  'serial2',
  'serial4',
  'serial8',
  'smallserial',
  'bigserial',
]);

// Target types that are a binary-compatible widening of their usual source (varchar(n) -> text,
// varchar(n) -> varchar(m > n), numeric(p,s) -> numeric(q > p,s), varbit(n) -> varbit(m),
// cidr -> inet): no rewrite. The source type is not in the file, so the target decides.
const WIDENING_TARGETS = new Set(['text', 'varchar', 'numeric', 'varbit', 'inet', 'citext']);

const BACKFILL =
  'backfill existing rows in batches (`UPDATE ... WHERE id BETWEEN ...` in a `-- cutover:transaction off` migration or from the app)';

export const rule: Rule = {
  id: 'table-rewrite',
  title:
    'Table rewrite under ACCESS EXCLUSIVE (volatile default, stored generated column, type change)',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands.flatMap((command) => {
      const cause = rewriteCause(
        command,
        context.schema?.columnType(alter.relation, command.name ?? ''),
      );
      return cause === undefined ? [] : [toHit(table, cause)];
    });
  },
};

interface Cause {
  readonly what: string;
  readonly fix: string;
}

function rewriteCause(command: AlterTableCmd, old: ColumnType | undefined): Cause | undefined {
  const column =
    command.def !== undefined && 'ColumnDef' in command.def ? command.def.ColumnDef : undefined;
  switch (command.subtype) {
    case 'AT_AddColumn':
      return column === undefined ? undefined : addColumnCause(column);
    case 'AT_AlterColumnType':
      return column === undefined ? undefined : typeChangeCause(command.name ?? '', column, old);
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
      return {
        what: `SET ${command.subtype === 'AT_SetLogged' ? 'LOGGED' : 'UNLOGGED'} copies the whole table`,
        fix: 'Do not change the persistence of a live table in a migration; create a new table with the wanted persistence and move the data in batches.',
      };
    case 'AT_SetAccessMethod':
      return {
        what: 'SET ACCESS METHOD copies the whole table',
        fix: 'Create a new table with the access method and move the data in batches.',
      };
    default:
      return undefined;
  }
}

function addColumnCause(column: ColumnDef): Cause | undefined {
  const name = column.colname ?? '';
  const constraints = (column.constraints ?? []).flatMap((node) =>
    'Constraint' in node ? [node.Constraint] : [],
  );
  const typeName = dottedName(column.typeName?.names).replace(/^pg_catalog\./, '');
  if (SERIAL_TYPES.has(typeName) || constraints.some((c) => c.contype === 'CONSTR_IDENTITY')) {
    return {
      what: `ADD COLUMN ${name} ${SERIAL_TYPES.has(typeName) ? typeName : 'GENERATED AS IDENTITY'} fills every existing row from a sequence`,
      fix: `Add ${name} as a plain nullable bigint, then \`ALTER COLUMN ${name} SET DEFAULT nextval('<sequence>')\` (new rows only), and ${BACKFILL}.`,
    };
  }
  const generated = constraints.find((c) => c.contype === 'CONSTR_GENERATED');
  // PostgreSQL 18 virtual generated columns are computed on read: no rewrite.
  if (generated !== undefined && generated.generated_kind !== 'v') {
    return {
      what: `ADD COLUMN ${name} GENERATED ALWAYS AS (...) STORED computes and stores the value for every existing row`,
      fix: `Add ${name} as a plain nullable column filled by a BEFORE INSERT OR UPDATE trigger (or computed by the app or a view), and ${BACKFILL}.`,
    };
  }
  const volatile =
    constraints
      .filter((c: Constraint) => c.contype === 'CONSTR_DEFAULT')
      .map((c) => volatileCall(c.raw_expr))
      .find((call) => call !== undefined) ?? volatileCall(column.raw_default);
  if (volatile !== undefined) {
    return {
      what: `ADD COLUMN ${name} DEFAULT ${volatile}() has a volatile default, evaluated once per existing row`,
      fix: `Add ${name} without a default (or with a constant one), then \`ALTER TABLE ... ALTER COLUMN ${name} SET DEFAULT ${volatile}()\` (applies to new rows only, instant), and ${BACKFILL}.`,
    };
  }
  return undefined;
}

/**
 * A type change rewrites unless PostgreSQL can keep the stored bytes: judged against the type
 * the earlier migrations gave the column when known, else by the target alone.
 */
function typeChangeCause(
  name: string,
  column: ColumnDef,
  old: ColumnType | undefined,
): Cause | undefined {
  const target = column.typeName;
  const using = column.raw_default !== undefined;
  const to = columnTypeOf(target);
  const inPlace =
    old !== undefined && to !== undefined ? isInPlaceChange(old, to) : isWideningTarget(target);
  if (!using && inPlace) return undefined;
  return {
    what: `ALTER COLUMN ${name} TYPE ${typeLabel(target)}${using ? ' USING ...' : ''} converts and rewrites every row (only varchar(n) -> varchar(m > n) or text, and numeric precision increases, are in place)`,
    fix: `Add a new column ${name}_new ${typeLabel(target)}, keep it in step with a trigger, ${BACKFILL}, switch the app's reads, and drop ${name} in a contract migration.`,
  };
}

function isWideningTarget(type: TypeName | undefined): boolean {
  const name = dottedName(type?.names).replace(/^pg_catalog\./, '');
  if ((type?.arrayBounds ?? []).length > 0) return false;
  return WIDENING_TARGETS.has(name);
}

/** The first volatile function called anywhere in an expression, e.g. `gen_random_uuid`. */
function volatileCall(node: Node | undefined): string | undefined {
  let found: string | undefined;
  const visit = (value: unknown): void => {
    if (found !== undefined || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const record = value as Record<string, unknown>;
    const call = record['FuncCall'] as { funcname?: Node[] } | undefined;
    if (call !== undefined) {
      const functionName = dottedName(call.funcname).replace(/^(pg_catalog|public)\./, '');
      if (VOLATILE_FUNCTIONS.has(functionName)) {
        found = functionName;
        return;
      }
    }
    for (const child of Object.values(record)) visit(child);
  };
  visit(node);
  return found;
}

function toHit(table: string, cause: Cause): RuleHit {
  return {
    message: `${cause.what}: PostgreSQL rewrites all of ${table} and rebuilds its indexes while holding an ACCESS EXCLUSIVE lock, so every read and write of ${table} waits for the whole rewrite (minutes on a large table).`,
    fix: cause.fix,
  };
}
