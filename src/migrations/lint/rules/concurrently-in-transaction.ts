// CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY refuse
// to run inside a transaction block (SQLSTATE 25001): the runner's BEGIN (every file whose
// header does not say `-- cutover:transaction off`) or an explicit BEGIN in the file.
import type { AlterTableStmt, DropStmt, IndexStmt, ReindexStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { transactionOf } from './transaction-blocks.ts';

export const rule: Rule = {
  id: 'concurrently-in-transaction',
  title: 'CONCURRENTLY inside a transaction',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const operation = concurrentOperation(statement);
    if (operation === undefined) return [];
    if (context.transactional) {
      return [
        {
          message: `${operation} cannot run inside a transaction block, and this file runs in the runner's transaction: PostgreSQL refuses it (SQLSTATE 25001) and the whole migration fails.`,
          fix: `Move it to a migration of its own whose first line is \`-- cutover:transaction off\`, one CONCURRENTLY statement per file so a failure leaves nothing half-done.`,
        },
      ];
    }
    if (transactionOf(context, statement.index) !== undefined) {
      return [
        {
          message: `${operation} follows a BEGIN in this file and cannot run inside a transaction block: PostgreSQL refuses it (SQLSTATE 25001).`,
          fix: `Remove the BEGIN/COMMIT around it: in a \`-- cutover:transaction off\` file each statement runs on its own.`,
        },
      ];
    }
    return [];
  },
};

function concurrentOperation(statement: LintStatement): string | undefined {
  switch (statement.kind) {
    case 'IndexStmt':
      return (statement.node as IndexStmt).concurrent === true
        ? 'CREATE INDEX CONCURRENTLY'
        : undefined;
    case 'DropStmt':
      return (statement.node as DropStmt).concurrent === true
        ? 'DROP INDEX CONCURRENTLY'
        : undefined;
    case 'ReindexStmt':
      return ((statement.node as ReindexStmt).params ?? []).some(
        (param) => 'DefElem' in param && param.DefElem.defname === 'concurrently',
      )
        ? 'REINDEX CONCURRENTLY'
        : undefined;
    case 'AlterTableStmt':
      return ((statement.node as AlterTableStmt).cmds ?? []).some(
        (cmd) =>
          'AlterTableCmd' in cmd &&
          cmd.AlterTableCmd.subtype === 'AT_DetachPartition' &&
          cmd.AlterTableCmd.def !== undefined &&
          'PartitionCmd' in cmd.AlterTableCmd.def &&
          cmd.AlterTableCmd.def.PartitionCmd.concurrent === true,
      )
        ? 'DETACH PARTITION CONCURRENTLY'
        : undefined;
    default:
      return undefined;
  }
}
