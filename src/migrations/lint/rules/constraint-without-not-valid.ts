// A new CHECK or FOREIGN KEY on an existing table is verified against every row while the
// ALTER TABLE's lock is held: ACCESS EXCLUSIVE for a CHECK (nothing reads or writes the table),
// SHARE ROW EXCLUSIVE on both tables for a FOREIGN KEY (no writes to either). `NOT VALID` adds
// it for new rows only, instantly; `VALIDATE CONSTRAINT` later scans under SHARE UPDATE
// EXCLUSIVE, which blocks nobody - unless it runs in the same transaction as the ADD, which
// still holds the ADD's lock.
import type { AlterTableCmd, ColumnDef, Constraint, Node } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';
import { transactionOf } from './transaction-blocks.ts';

export const rule: Rule = {
  id: 'constraint-without-not-valid',
  title: 'CHECK/FOREIGN KEY without NOT VALID, or VALIDATE in the same transaction',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    const hits: RuleHit[] = [];
    for (const command of alter.commands) {
      if (command.subtype === 'AT_AddConstraint') {
        const constraint = constraintOf(command.def);
        if (constraint !== undefined && constraint.skip_validation !== true) {
          const hit = validatedNow(constraint, table, 'ADD CONSTRAINT');
          if (hit !== undefined) hits.push(hit);
        }
      } else if (command.subtype === 'AT_AddColumn') {
        const column =
          command.def !== undefined && 'ColumnDef' in command.def
            ? command.def.ColumnDef
            : undefined;
        for (const node of column?.constraints ?? []) {
          // A FOREIGN KEY on a new column without a default has only NULLs to check: PostgreSQL
          // skips the scan (measured on PostgreSQL 15); a CHECK is always verified by a scan.
          if (constraintOf(node)?.contype === 'CONSTR_FOREIGN' && !hasDefault(column)) continue;
          const hit = validatedNow(
            constraintOf(node),
            table,
            `ADD COLUMN ${column?.colname ?? ''}`,
          );
          if (hit !== undefined) hits.push(hit);
        }
      } else if (command.subtype === 'AT_ValidateConstraint') {
        const hit = validateAfterAdd(command, statement, context, table);
        if (hit !== undefined) hits.push(hit);
      }
    }
    return hits;
  },
};

function hasDefault(column: ColumnDef | undefined): boolean {
  return (
    column?.raw_default !== undefined ||
    (column?.constraints ?? []).some(
      (node) => 'Constraint' in node && node.Constraint.contype === 'CONSTR_DEFAULT',
    )
  );
}

function constraintOf(node: Node | undefined): Constraint | undefined {
  return node !== undefined && 'Constraint' in node ? node.Constraint : undefined;
}

function validatedNow(
  constraint: Constraint | undefined,
  table: string,
  where: string,
): RuleHit | undefined {
  const name = constraint?.conname ?? '<name>';
  if (constraint?.contype === 'CONSTR_CHECK') {
    return {
      message: `${where} with a CHECK scans every row of ${table} to verify it while holding an ACCESS EXCLUSIVE lock: all reads and writes of ${table} wait for the whole scan.`,
      fix: `Add it as NOT VALID (\`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (...) NOT VALID\`), then \`ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}\` in a later migration: the validation takes SHARE UPDATE EXCLUSIVE and blocks no reads or writes.`,
    };
  }
  if (constraint?.contype === 'CONSTR_FOREIGN') {
    const target = relationName(constraint.pktable);
    return {
      message: `${where} with a FOREIGN KEY scans every row of ${table} to verify it while holding SHARE ROW EXCLUSIVE locks on ${table} and ${target}: every write to both tables waits for the whole scan${where.startsWith('ADD COLUMN') ? ', and the ADD COLUMN itself holds ACCESS EXCLUSIVE on ' + table : ''}.`,
      fix: `Add the column first if needed, then \`ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (...) REFERENCES ${target} (...) NOT VALID\`, and \`ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}\` in a later migration (SHARE UPDATE EXCLUSIVE: no reads or writes blocked).`,
    };
  }
  return undefined;
}

function validateAfterAdd(
  command: AlterTableCmd,
  statement: LintStatement,
  context: LintFileContext,
  table: string,
): RuleHit | undefined {
  const members = transactionOf(context, statement.index);
  if (members === undefined) return undefined;
  const addedNotValid = members.some((index) => {
    if (index >= statement.index) return false;
    const earlier = context.statements[index];
    const alter = earlier === undefined ? undefined : alterTableCommands(earlier);
    if (alter === undefined || relationName(alter.relation) !== table) return false;
    return alter.commands.some((cmd) => {
      const constraint = cmd.subtype === 'AT_AddConstraint' ? constraintOf(cmd.def) : undefined;
      return constraint?.skip_validation === true && constraint.conname === command.name;
    });
  });
  if (!addedNotValid) return undefined;
  return {
    message: `VALIDATE CONSTRAINT ${command.name ?? ''} runs in the same transaction as its ADD ... NOT VALID, so the ADD's lock on ${table} (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a FOREIGN KEY) is still held during the full validation scan: NOT VALID gains nothing.`,
    fix: `Move \`ALTER TABLE ${table} VALIDATE CONSTRAINT ${command.name ?? ''}\` to a later migration file (its own transaction); it then takes only SHARE UPDATE EXCLUSIVE.`,
  };
}
