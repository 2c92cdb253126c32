// An UPDATE of an existing table in the same transaction as DDL on an existing table: the DDL's
// lock (ACCESS EXCLUSIVE for most ALTER TABLEs) is held until COMMIT, so it lasts as long as
// the UPDATE runs; and the UPDATE's row locks on every row it touched are held until the DDL is
// done. A backfill of millions of rows then stalls the live version for its whole duration.
import type { UpdateStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { isNewTable, relationName } from '../sql-ast.ts';
import { existingTableOfDdl } from './existing-table-ddl.ts';
import { transactionOf } from './transaction-blocks.ts';

export const rule: Rule = {
  id: 'backfill-in-ddl-transaction',
  title: 'Backfill UPDATE in the DDL transaction',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind !== 'UpdateStmt') return [];
    const relation = (statement.node as UpdateStmt).relation;
    // Filling a table created in this run blocks nobody.
    if (isNewTable(context, relation)) return [];
    const members = transactionOf(context, statement.index);
    if (members === undefined) return [];
    const ddl = members
      .filter((index) => index !== statement.index)
      .map((index) => {
        const other = context.statements[index];
        return other === undefined ? undefined : existingTableOfDdl(other, context);
      })
      .find((table) => table !== undefined);
    if (ddl === undefined) return [];
    const table = relationName(relation);
    return [
      {
        message: `This UPDATE of ${table} runs in the same transaction as DDL on ${ddl}, so the DDL's lock (ACCESS EXCLUSIVE for most ALTER TABLEs) and the UPDATE's row locks are all held until COMMIT: reads and writes of ${ddl} wait for the whole backfill.`,
        fix: `Move the backfill to its own migration with \`-- cutover:transaction off\` (after the DDL's migration) and update in batches that each commit, e.g. \`UPDATE ${table} SET ... WHERE id IN (SELECT id FROM ${table} WHERE <not yet filled> LIMIT 10000)\` repeated until no row changes; or backfill from the app.`,
      },
    ];
  },
};
