// Explicit transaction control in a migration. The runner already wraps a transactional file in
// BEGIN/COMMIT: a BEGIN inside it is ignored by PostgreSQL (a warning) and refused by SQLite,
// and the file's own COMMIT then commits the runner's transaction early, so the statements after
// it and the runner's history record are no longer atomic. A BEGIN never committed leaves its
// locks held until the connection closes, and then everything is rolled back.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { transactionControl } from './transaction-blocks.ts';

export const rule: Rule = {
  id: 'unterminated-nested-begin',
  title: 'Unterminated or nested BEGIN',
  category: 'transactions',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres', 'sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const control = transactionControl(statement);
    if (control === undefined) return [];
    const earlier = context.statements.slice(0, statement.index).map(transactionControl);
    if (context.transactional) {
      // A COMMIT after a BEGIN of the file is reported once, at the BEGIN.
      if (control === 'end' && earlier.includes('begin')) return [];
      return [
        {
          message:
            control === 'begin'
              ? "BEGIN inside a file the runner already runs in a transaction: PostgreSQL ignores it (\"there is already a transaction in progress\"), SQLite refuses it, and the file's COMMIT then ends the runner's transaction early, so what follows is no longer atomic with the migration's history record."
              : "COMMIT/ROLLBACK in a file the runner runs in a transaction ends the runner's transaction early: the statements after it, and the runner's history record, are no longer atomic with the rest.",
          fix: 'Remove the BEGIN/COMMIT (the runner wraps the file in one transaction), or make the file `-- cutover:transaction off` if it needs its own transaction boundaries.',
        },
      ];
    }
    if (control === 'end') return [];
    let open = false;
    for (const previous of earlier) {
      if (previous === 'begin') open = true;
      else if (previous === 'end') open = false;
    }
    if (open) {
      return [
        {
          message:
            'BEGIN while the BEGIN before it is still open: transactions do not nest (PostgreSQL ignores the inner BEGIN, SQLite refuses it), so the first COMMIT ends both and the rest runs outside any transaction.',
          fix: 'COMMIT the first transaction before the next BEGIN, or use SAVEPOINT / RELEASE SAVEPOINT for a nested step.',
        },
      ];
    }
    const closed = context.statements
      .slice(statement.index + 1)
      .some((later) => transactionControl(later) === 'end');
    if (closed) return [];
    return [
      {
        message:
          'BEGIN without a COMMIT before the end of the file: the transaction stays open, its locks are held until the connection closes, and then all of its work is rolled back.',
        fix: 'End the transaction with COMMIT in the same file.',
      },
    ];
  },
};
