// DDL waits for its lock behind every running query on the table, and every query that arrives
// meanwhile queues behind the DDL: one slow report makes the whole table unavailable. A
// lock_timeout makes the DDL give up instead. cutover's runner sets lock_timeout and
// statement_timeout itself and retries, so this matters only for files run outside it.
import type { VariableSetStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { existingTableOfDdl } from './existing-table-ddl.ts';
import { insideTransaction } from './transaction-blocks.ts';

const SET_CONFIG = /\bset_config\s*\(\s*'lock_timeout'\s*,\s*'([^']*)'/i;

export const rule: Rule = {
  id: 'missing-lock-timeout',
  title: 'DDL on an existing table without lock_timeout (outside the runner)',
  category: 'locking',
  severity: 'warning',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (!context.outsideRunner) return [];
    const table = existingTableOfDdl(statement, context);
    if (table === undefined) return [];
    let timeout = false;
    for (const earlier of context.statements.slice(0, statement.index)) {
      const set = lockTimeoutSet(earlier, context);
      if (set !== undefined) timeout = set;
      // One finding per file: the first DDL without a timeout before it.
      else if (!timeout && existingTableOfDdl(earlier, context) !== undefined) return [];
    }
    if (timeout) return [];
    return [
      {
        message: `This DDL waits for its lock on ${table} behind every running query, and all new queries on ${table} queue behind it: without a lock_timeout one long query makes ${table} unavailable for as long as it runs. The file runs outside cutover's runner, which would set one.`,
        fix: `Start the file with \`SET lock_timeout = '5s';\` (and \`SET statement_timeout\`), and retry the migration if it times out; or let cutover's runner apply it.`,
      },
    ];
  },
};

/** True when the statement sets a non-zero lock_timeout, false when it clears it, else undefined. */
function lockTimeoutSet(statement: LintStatement, context: LintFileContext): boolean | undefined {
  if (statement.kind === 'VariableSetStmt') {
    const set = statement.node as VariableSetStmt;
    if (set.name !== 'lock_timeout') return undefined;
    if (set.kind !== 'VAR_SET_VALUE') return false;
    // SET LOCAL outside a transaction block has no effect.
    if (set.is_local === true && !insideTransaction(context, statement.index)) return undefined;
    const argument = set.args?.[0];
    const value =
      argument !== undefined && 'A_Const' in argument
        ? (argument.A_Const.sval?.sval ?? String(argument.A_Const.ival?.ival ?? 0))
        : '';
    return !/^\s*0\s*(ms|s|min)?\s*$/i.test(value);
  }
  if (statement.kind === 'SelectStmt') {
    const match = SET_CONFIG.exec(statement.sql);
    if (match === null) return undefined;
    return !/^\s*0\s*(ms|s|min)?\s*$/i.test(match[1] ?? '');
  }
  return undefined;
}
