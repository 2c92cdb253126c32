// SET NOT NULL scans the whole table for NULLs while holding ACCESS EXCLUSIVE, unless a
// validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+ then skips the scan).
// The CHECK can be added NOT VALID (instant) and validated under SHARE UPDATE EXCLUSIVE.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';
import { provenNotNull } from './not-null-proof.ts';

export const rule: Rule = {
  id: 'set-not-null-without-check',
  title: 'SET NOT NULL without a validated CHECK (col IS NOT NULL)',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    return alter.commands
      .filter((command) => command.subtype === 'AT_SetNotNull')
      .filter((command) => !provenNotNull(table, command.name ?? '', statement.index, context))
      .map((command) => {
        const column = command.name ?? '';
        const check = `${table.replace(/^.*\./, '')}_${column}_not_null`;
        return {
          message: `SET NOT NULL on ${table}.${column} scans every row of ${table} for NULLs while holding an ACCESS EXCLUSIVE lock: every read and write of ${table} waits for the whole scan.`,
          fix: `First \`ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID\`; in a later migration \`ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}\`, then SET NOT NULL (PostgreSQL 12+ uses the validated CHECK and skips the scan), then drop the CHECK.`,
        };
      });
  },
};
