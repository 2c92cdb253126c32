// A new CHECK, UNIQUE, FOREIGN KEY, EXCLUDE or PRIMARY KEY constraint on columns that already
// exist: the serving version was never written to respect it, so some of its INSERTs and UPDATEs
// start failing. NOT VALID does not help here: it skips the check of existing rows, but new
// writes are checked at once. Constraints on columns this file adds are fine (the serving
// version never writes them), and so is `USING INDEX`: the unique index already enforces it.
// Allowed in a contract migration: only versions written for the rule still run then (it is
// how a contract file makes SET NOT NULL cheap: CHECK (c IS NOT NULL) NOT VALID, VALIDATE).
import type { ColumnDef, Constraint, Node } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName, statementsBefore } from '../sql-ast.ts';

const CONSTRAINT_KINDS: Readonly<Record<string, string>> = {
  CONSTR_CHECK: 'CHECK',
  CONSTR_UNIQUE: 'UNIQUE',
  CONSTR_FOREIGN: 'FOREIGN KEY',
  CONSTR_EXCLUSION: 'EXCLUDE',
  CONSTR_PRIMARY: 'PRIMARY KEY',
};

export const rule: Rule = {
  id: 'add-constraint-existing-columns',
  title: 'New CHECK/UNIQUE/FOREIGN KEY constraint on existing columns',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    if (!alter.commands.some((command) => command.subtype === 'AT_AddConstraint')) return [];
    const table = relationName(alter.relation);
    const added = addedColumns(table, [...statementsBefore(statement, context), statement]);
    return alter.commands
      .filter((command) => command.subtype === 'AT_AddConstraint')
      .map((command) => (command.def as { Constraint?: Constraint } | undefined)?.Constraint)
      .filter((constraint): constraint is Constraint => constraint !== undefined)
      .filter((constraint) => CONSTRAINT_KINDS[constraint.contype ?? ''] !== undefined)
      .filter((constraint) => constraint.indexname === undefined)
      .filter((constraint) => {
        const columns = constrainedColumns(constraint);
        return columns.length === 0 || columns.some((column) => !added.has(column));
      })
      .map((constraint) => {
        const kind = CONSTRAINT_KINDS[constraint.contype ?? ''] ?? 'constraint';
        const name = constraint.conname ?? kind;
        return {
          message: `The new ${kind} constraint ${name} on ${table} applies to columns the version still serving already writes, without knowing the rule: its writes that break it start failing (NOT VALID only skips the check of existing rows).`,
          fix: `Release a version that respects the rule (validates in code) first, then add the constraint (NOT VALID, then VALIDATE CONSTRAINT in a later migration). If the serving version provably never breaks it, suppress with that reason.`,
        };
      });
  },
};

/** Columns this file adds to `table` (the serving version never writes them). */
function addedColumns(table: string, statements: readonly LintStatement[]): Set<string> {
  const columns = new Set<string>();
  for (const statement of statements) {
    const alter = alterTableCommands(statement);
    if (alter === undefined || relationName(alter.relation) !== table) continue;
    for (const command of alter.commands) {
      const definition = (command.def as { ColumnDef?: ColumnDef } | undefined)?.ColumnDef;
      if (command.subtype === 'AT_AddColumn' && definition?.colname !== undefined) {
        columns.add(definition.colname);
      }
    }
  }
  return columns;
}

function constrainedColumns(constraint: Constraint): string[] {
  if (constraint.contype === 'CONSTR_FOREIGN') return names(constraint.fk_attrs);
  if (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') {
    return names(constraint.keys);
  }
  const found: string[] = [];
  collectColumnRefs(constraint.raw_expr ?? constraint.exclusions, found);
  return found;
}

function names(nodes: readonly Node[] | undefined): string[] {
  return (nodes ?? []).flatMap((node) => ('String' in node ? [node.String.sval ?? ''] : []));
}

/** Every column name a CHECK or EXCLUDE expression refers to (the last field of each ColumnRef). */
function collectColumnRefs(value: unknown, found: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectColumnRefs(item, found);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const ref = record.ColumnRef as { fields?: Node[] } | undefined;
    if (ref !== undefined) {
      const last = names(ref.fields).pop();
      if (last !== undefined) found.push(last);
      return;
    }
    for (const child of Object.values(record)) collectColumnRefs(child, found);
  }
}
