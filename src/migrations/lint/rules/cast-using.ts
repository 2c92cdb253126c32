// ALTER COLUMN ... TYPE ... USING converts every existing row with the expression: one value it
// cannot convert ('n/a'::int) aborts the migration in production. The linter cannot see the
// data, so it warns and hands over a query that finds those rows (best effort).
import type { AlterTableCmd, ColumnDef, Node } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, dottedName, isNewTable, relationName, typeLabel } from '../sql-ast.ts';
import { quotedTable, quoteIdent, scanSql } from './preflight-sql.ts';

const MAX_ROWS = 10;

// Text patterns of the values each target type accepts, for a plain `col::type` cast.
const ACCEPTED: Readonly<Record<string, string>> = {
  int2: '^\\s*[-+]?[0-9]+\\s*$',
  int4: '^\\s*[-+]?[0-9]+\\s*$',
  int8: '^\\s*[-+]?[0-9]+\\s*$',
  numeric: '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$',
  float4: '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$',
  float8: '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$',
  bool: '^\\s*(t|true|y|yes|on|1|f|false|n|no|off|0)\\s*$',
  uuid: '^\\s*\\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\\}?\\s*$',
};

export const rule: Rule = {
  id: 'cast-using',
  title: 'Type change with USING on existing data (pre-flight query)',
  category: 'data',
  severity: 'warning',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const withUsing = alter.commands.filter(
      (command) => columnOf(command)?.raw_default !== undefined,
    );
    if (withUsing.length === 0) return [];
    const usingTexts = usingClauses(statement.sql);
    const table = quotedTable(alter.relation);
    return withUsing.map((command, position) => {
      const column = command.name ?? '';
      const definition = columnOf(command);
      const type = typeLabel(definition?.typeName);
      const expression = usingTexts[position] ?? quoteIdent(column);
      return {
        message: `ALTER COLUMN ${column} TYPE ${type} USING ${expression} converts every existing row of ${relationName(alter.relation)}: one value the expression cannot convert aborts the migration in production, and the live version may still be writing such values.`,
        fix: `Run the pre-flight query on production first and clean up the rows it finds; better, add a new column of type ${type}, fill it in batches with the expression (rows that fail stay visible), switch the app, and drop ${column} in a contract migration.`,
        preflight: preflightQuery(table, column, definition, expression),
      };
    });
  },
};

function columnOf(command: AlterTableCmd): ColumnDef | undefined {
  if (command.subtype !== 'AT_AlterColumnType' || command.def === undefined) return undefined;
  return 'ColumnDef' in command.def ? command.def.ColumnDef : undefined;
}

function preflightQuery(
  table: string,
  column: string,
  definition: ColumnDef | undefined,
  expression: string,
): string {
  const target = dottedName(definition?.typeName?.names).replace(/^pg_catalog\./, '');
  const pattern = ACCEPTED[target];
  const quoted = quoteIdent(column);
  if (pattern !== undefined && isPlainCastOf(definition?.raw_default, column)) {
    return `SELECT ${quoted} FROM ${table} WHERE ${quoted} IS NOT NULL AND ${quoted}::text !~* '${pattern}' LIMIT ${MAX_ROWS}`;
  }
  // The aggregate evaluates the conversion on every row: it fails naming the first bad value.
  return `SELECT count((${expression})::${typeLabel(definition?.typeName)}) FROM ${table}`;
}

function isPlainCastOf(node: Node | undefined, column: string): boolean {
  if (node === undefined || !('TypeCast' in node)) return false;
  const argument = node.TypeCast.arg;
  if (argument === undefined || !('ColumnRef' in argument)) return false;
  const last = (argument.ColumnRef.fields ?? []).at(-1);
  return last !== undefined && 'String' in last && last.String.sval === column;
}

/** The text of each top-level `USING <expression>` of the statement, in order. */
function usingClauses(sql: string): string[] {
  const scanned = scanSql(sql);
  const { tokens } = scanned;
  const clauses: string[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    if (tokens[i]?.upper !== 'USING' || tokens[i]?.depth !== 0) continue;
    let end = i + 1;
    while (end < tokens.length && !(tokens[end]?.depth === 0 && tokens[end]?.text === ','))
      end += 1;
    clauses.push(scanned.slice(i + 1, end - 1));
    i = end;
  }
  return clauses;
}
