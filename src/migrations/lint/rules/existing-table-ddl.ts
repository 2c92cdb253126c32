// The existing table a DDL statement must lock, if any: DDL on a table created in this run has
// no concurrent reader or writer to queue behind, so the locking rules skip it.
import type { DropStmt, Node, RangeVar } from 'libpg-query';
import type { LintFileContext, LintStatement } from '../lint-types.ts';
import { isNewTable, relationName } from '../sql-ast.ts';

// Statements whose `relation` is the table they lock (ALTER TABLE takes up to ACCESS EXCLUSIVE,
// CREATE INDEX SHARE, CREATE TRIGGER SHARE ROW EXCLUSIVE, CLUSTER/VACUUM FULL ACCESS EXCLUSIVE).
const RELATION_DDL = new Set([
  'AlterTableStmt',
  'IndexStmt',
  'RenameStmt',
  'CreateTrigStmt',
  'AlterObjectSchemaStmt',
  'ClusterStmt',
  'ReindexStmt',
  'RuleStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
]);

const DROPPED_RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_INDEX',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_TRIGGER',
]);

/** The name of the existing table (or index) the DDL statement locks, else undefined. */
export function existingTableOfDdl(
  statement: LintStatement,
  context: LintFileContext,
): string | undefined {
  if (RELATION_DDL.has(statement.kind)) {
    return existing((statement.node as { relation?: RangeVar }).relation, context);
  }
  if (statement.kind === 'TruncateStmt') {
    const relations = (statement.node as { relations?: Node[] }).relations ?? [];
    for (const relation of relations) {
      const name = 'RangeVar' in relation ? existing(relation.RangeVar, context) : undefined;
      if (name !== undefined) return name;
    }
    return undefined;
  }
  if (statement.kind === 'DropStmt') {
    const drop = statement.node as DropStmt;
    if (drop.removeType === undefined || !DROPPED_RELATIONS.has(drop.removeType)) return undefined;
    for (const object of drop.objects ?? []) {
      const parts = 'List' in object ? (object.List.items ?? []) : [];
      const names = parts.flatMap((part) => ('String' in part ? [part.String.sval ?? ''] : []));
      // DROP TRIGGER names `trigger ON table`: the parser lists the table's parts first.
      const tableParts = drop.removeType === 'OBJECT_TRIGGER' ? names.slice(0, -1) : names;
      const relname = tableParts.at(-1);
      if (relname === undefined) continue;
      const schemaname = tableParts.length > 1 ? tableParts.at(-2) : undefined;
      const relation: RangeVar = schemaname === undefined ? { relname } : { relname, schemaname };
      const name = existing(relation, context);
      if (name !== undefined) return name;
    }
    return undefined;
  }
  return undefined;
}

function existing(relation: RangeVar | undefined, context: LintFileContext): string | undefined {
  if (relation?.relname === undefined || isNewTable(context, relation)) return undefined;
  return relationName(relation);
}
