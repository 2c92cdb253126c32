// A new UNIQUE index or constraint, a PRIMARY KEY, or a NOT NULL on an existing table holds only
// if the rows already there obey it: one duplicate or one NULL and the migration fails in
// production (a failed CREATE UNIQUE INDEX CONCURRENTLY also leaves an INVALID index behind).
// The linter cannot see the data, so it warns and hands over the query that finds those rows.
import type { AlterTableCmd, Constraint, IndexStmt, Node, RangeVar } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';
import { provenNotNull } from './not-null-proof.ts';
import { quotedTable, quoteIdent, scanSql } from './preflight-sql.ts';

const MAX_ROWS = 10;
const SORT_WORDS = new Set(['ASC', 'DESC', 'NULLS', 'COLLATE']);

export const rule: Rule = {
  id: 'unique-not-null-existing-data',
  title: 'UNIQUE or NOT NULL on existing data (pre-flight query)',
  category: 'data',
  severity: 'warning',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind === 'IndexStmt') {
      const index = statement.node as IndexStmt;
      if (index.unique !== true || isNewTable(context, index.relation)) return [];
      return [
        uniqueHit(
          index.relation,
          indexColumns(statement, index),
          indexWhere(statement),
          index.nulls_not_distinct === true,
          false,
        ),
      ];
    }
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter(
        (command) =>
          command.subtype !== 'AT_SetNotNull' ||
          !provenNotNull(table, command.name ?? '', statement.index, context),
      )
      .flatMap((command) => commandHits(command, alter.relation));
  },
};

function commandHits(command: AlterTableCmd, relation: RangeVar | undefined): RuleHit[] {
  if (command.subtype === 'AT_SetNotNull') return [notNullHit(relation, command.name ?? '')];
  const constraint = constraintOf(command.subtype === 'AT_AddConstraint' ? command.def : undefined);
  if (constraint === undefined) return [];
  const keys = (constraint.keys ?? []).flatMap((key) =>
    'String' in key ? [quoteIdent(key.String.sval ?? '')] : [],
  );
  if (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') {
    // USING INDEX attaches an index that already holds: the rows are already unique.
    if (constraint.indexname !== undefined || keys.length === 0) return [];
    const primary = constraint.contype === 'CONSTR_PRIMARY';
    return [uniqueHit(relation, keys, undefined, constraint.nulls_not_distinct === true, primary)];
  }
  if (constraint.contype === 'CONSTR_CHECK' && constraint.skip_validation !== true) {
    const column = notNullColumn(constraint.raw_expr);
    return column === undefined ? [] : [notNullHit(relation, column)];
  }
  return [];
}

function uniqueHit(
  relation: RangeVar | undefined,
  columns: readonly string[],
  where: string | undefined,
  nullsNotDistinct: boolean,
  primary: boolean,
): RuleHit {
  const table = quotedTable(relation);
  const list = columns.join(', ');
  // NULLs never collide in a UNIQUE index (unless NULLS NOT DISTINCT); a primary key refuses them.
  const filters = [
    ...(where === undefined ? [] : [`(${where})`]),
    ...(nullsNotDistinct || primary ? [] : columns.map((column) => `${column} IS NOT NULL`)),
  ];
  const duplicates = `SELECT ${list}, count(*) FROM ${table}${filters.length === 0 ? '' : ` WHERE ${filters.join(' AND ')}`} GROUP BY ${list} HAVING count(*) > 1 LIMIT ${MAX_ROWS}`;
  const nulls = `SELECT count(*) FROM ${table} WHERE ${columns.map((column) => `${column} IS NULL`).join(' OR ')}`;
  const what = primary ? 'PRIMARY KEY' : 'UNIQUE';
  return {
    message: `The new ${what} on ${relationName(relation)} (${list}) fails if existing rows already hold duplicates${primary ? ' or NULLs' : ''}, and the live version may still be writing them: the migration then fails in production (a failed CONCURRENTLY build leaves an INVALID index to drop).`,
    fix: `Run the pre-flight query on production first; remove or merge the duplicates${primary ? ' and fill the NULLs' : ''}, and make sure the live version no longer writes them, before this migration.`,
    preflight: primary ? `${duplicates};\n${nulls}` : duplicates,
  };
}

function notNullHit(relation: RangeVar | undefined, column: string): RuleHit {
  const quoted = quoteIdent(column);
  return {
    message: `NOT NULL on ${relationName(relation)}.${column} fails if any existing row holds NULL there, and the live version may still be writing NULLs: the migration then fails in production.`,
    fix: `Run the pre-flight query first; backfill the NULLs (in batches) and give the column a DEFAULT (or make the live version write it) before this migration.`,
    preflight: `SELECT count(*) FROM ${quotedTable(relation)} WHERE ${quoted} IS NULL`,
  };
}

function constraintOf(node: Node | undefined): Constraint | undefined {
  return node !== undefined && 'Constraint' in node ? node.Constraint : undefined;
}

function notNullColumn(expression: Node | undefined): string | undefined {
  if (expression === undefined || !('NullTest' in expression)) return undefined;
  const test = expression.NullTest;
  if (test.nulltesttype !== 'IS_NOT_NULL' || test.arg === undefined) return undefined;
  if (!('ColumnRef' in test.arg)) return undefined;
  const last = (test.arg.ColumnRef.fields ?? []).at(-1);
  return last !== undefined && 'String' in last ? last.String.sval : undefined;
}

/** Each indexed column, or each expression as written in the statement. */
function indexColumns(statement: LintStatement, index: IndexStmt): string[] {
  const written = indexElementTexts(statement.sql);
  return (index.indexParams ?? []).map((param, position) => {
    const element = 'IndexElem' in param ? param.IndexElem : undefined;
    if (element?.name !== undefined) return quoteIdent(element.name);
    // An index expression is written as a function call or in parentheses: usable as is.
    return written[position] ?? '?';
  });
}

/** The texts of the elements of `ON table [USING method] ( ... )`, sort options left out. */
function indexElementTexts(sql: string): string[] {
  const scanned = scanSql(sql);
  const { tokens } = scanned;
  const on = tokens.findIndex((token) => token.upper === 'ON' && token.depth === 0);
  const open = tokens.findIndex((token, i) => i > on && token.text === '(' && token.depth === 0);
  if (on === -1 || open === -1) return [];
  const texts: string[] = [];
  let first = open + 1;
  let last = first - 1;
  let ended = false;
  for (let i = open + 1; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === undefined) break;
    const closing = token.depth === 0 && token.text === ')';
    if (closing || (token.depth === 1 && token.text === ',')) {
      texts.push(scanned.slice(first, last));
      if (closing) break;
      first = i + 1;
      last = i;
      ended = false;
      continue;
    }
    const previous = tokens[i - 1];
    // After an expression's closing parenthesis, a word is an operator class or sort option.
    if (
      token.depth === 1 &&
      (SORT_WORDS.has(token.upper) ||
        (i > first && previous?.text === ')' && /^\w/.test(token.text)))
    ) {
      ended = true;
    }
    if (!ended) last = i;
  }
  return texts;
}

/** A partial index's predicate, as written. */
function indexWhere(statement: LintStatement): string | undefined {
  if ((statement.node as IndexStmt).whereClause === undefined) return undefined;
  const scanned = scanSql(statement.sql);
  const where = scanned.tokens.findIndex((token) => token.upper === 'WHERE' && token.depth === 0);
  return where === -1 ? undefined : scanned.slice(where + 1, scanned.tokens.length - 1);
}
