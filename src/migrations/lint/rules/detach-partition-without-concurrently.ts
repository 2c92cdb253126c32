// DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned (parent) table until the
// transaction ends; DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) takes only SHARE UPDATE
// EXCLUSIVE and waits for running queries instead of blocking new ones.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

export const rule: Rule = {
  id: 'detach-partition-without-concurrently',
  title: 'DETACH PARTITION without CONCURRENTLY',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const parent = relationName(alter.relation);
    return alter.commands.flatMap((command) => {
      if (command.subtype !== 'AT_DetachPartition' || command.def === undefined) return [];
      const partition = 'PartitionCmd' in command.def ? command.def.PartitionCmd : undefined;
      if (partition === undefined || partition.concurrent === true) return [];
      const child = relationName(partition.name);
      return [
        {
          message: `DETACH PARTITION ${child} takes an ACCESS EXCLUSIVE lock on the partitioned table ${parent} until the transaction ends: every read and write of ${parent}, on any partition, waits.`,
          fix: `Use \`ALTER TABLE ${parent} DETACH PARTITION ${child} CONCURRENTLY\` (PostgreSQL 14+; SHARE UPDATE EXCLUSIVE) in a migration of its own with \`-- cutover:transaction off\`.`,
        },
      ];
    });
  },
};
