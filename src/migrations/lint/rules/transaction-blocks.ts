// Which statements of a migration run inside a transaction: the whole file when the runner wraps
// it (`-- cutover:transaction on`, the default), else the statements between an explicit BEGIN
// and its COMMIT/ROLLBACK. SQLite statements the parser could not read are matched on their text.
import type { TransactionStmt } from 'libpg-query';
import type { LintFileContext, LintStatement } from '../lint-types.ts';

export type TransactionControl = 'begin' | 'end';

const TEXT_BEGIN = /^(?:begin|start\s+transaction)\b/i;
const TEXT_END = /^(?:commit|end|rollback)\b/i;
// `ROLLBACK [TRANSACTION] TO [SAVEPOINT] x` keeps the transaction open; a plain ROLLBACK ends it.
const TEXT_ROLLBACK_TO = /^rollback(?:\s+transaction)?\s+to\b/i;

/** Whether the statement opens or ends a transaction (savepoints do neither). */
export function transactionControl(statement: LintStatement): TransactionControl | undefined {
  if (statement.kind === 'TransactionStmt') {
    switch ((statement.node as TransactionStmt).kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        return 'begin';
      case 'TRANS_STMT_COMMIT':
      case 'TRANS_STMT_ROLLBACK':
      case 'TRANS_STMT_PREPARE':
        return 'end';
      default:
        return undefined;
    }
  }
  if (statement.kind !== 'Unparsed') return undefined;
  if (TEXT_BEGIN.test(statement.sql)) return 'begin';
  if (TEXT_END.test(statement.sql) && !TEXT_ROLLBACK_TO.test(statement.sql)) return 'end';
  return undefined;
}

/**
 * The indexes of the statements that share a transaction with statement `index` (itself
 * included), or undefined when it runs on its own (autocommit).
 */
export function transactionOf(
  context: LintFileContext,
  index: number,
): readonly number[] | undefined {
  if (context.transactional) return context.statements.map((statement) => statement.index);
  let open: number | undefined;
  for (const statement of context.statements) {
    const control = transactionControl(statement);
    if (statement.index === index) {
      if (open === undefined) return undefined;
      break;
    }
    if (control === 'begin') open ??= statement.index;
    else if (control === 'end') open = undefined;
  }
  if (open === undefined) return undefined;
  const members: number[] = [];
  for (const statement of context.statements.slice(open)) {
    members.push(statement.index);
    if (statement.index > index && transactionControl(statement) === 'end') break;
  }
  return members;
}

/** Whether statement `index` runs inside a transaction (the runner's or an explicit BEGIN). */
export function insideTransaction(context: LintFileContext, index: number): boolean {
  return transactionOf(context, index) !== undefined;
}
