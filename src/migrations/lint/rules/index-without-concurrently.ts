// CREATE INDEX holds a SHARE lock on its table for the whole build (writes wait), DROP INDEX an
// ACCESS EXCLUSIVE lock (everything waits), REINDEX blocks writes and the index's readers.
// The CONCURRENTLY forms take SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.
import type { DropStmt, IndexStmt, ReindexStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { isNewTable, relationName } from '../sql-ast.ts';

const SEPARATE_FILE =
  'in a migration of its own with the header `-- cutover:transaction off` (CONCURRENTLY cannot run in a transaction)';

export const rule: Rule = {
  id: 'index-without-concurrently',
  title: 'CREATE/DROP INDEX or REINDEX without CONCURRENTLY',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (statement.kind === 'IndexStmt') return createIndex(statement.node, context);
    if (statement.kind === 'DropStmt') return dropIndex(statement.node, context);
    if (statement.kind === 'ReindexStmt') return reindex(statement.node);
    return [];
  },
};

function createIndex(index: IndexStmt, context: LintFileContext): RuleHit[] {
  // An index on a table created in this run builds on an empty table: nothing waits.
  if (index.concurrent === true || isNewTable(context, index.relation)) return [];
  const table = relationName(index.relation);
  return [
    {
      message: `CREATE INDEX holds a SHARE lock on ${table} for the whole index build, so every INSERT, UPDATE and DELETE on ${table} waits until the build ends (minutes on a large table).`,
      fix: `Use CREATE INDEX CONCURRENTLY ${index.idxname ?? '<name>'} ON ${table} (...) ${SEPARATE_FILE}; it takes SHARE UPDATE EXCLUSIVE and lets writes go on. On a partitioned table: CREATE INDEX ... ON ONLY ${table}, then CONCURRENTLY on each partition and ALTER INDEX ... ATTACH PARTITION.`,
    },
  ];
}

function dropIndex(drop: DropStmt, context: LintFileContext): RuleHit[] {
  if (drop.removeType !== 'OBJECT_INDEX' || drop.concurrent === true) return [];
  const names = (drop.objects ?? []).map((object) =>
    'List' in object
      ? (object.List.items ?? [])
          .map((part) => ('String' in part ? part.String.sval : ''))
          .join('.')
      : '',
  );
  // An index created earlier in this same file belongs to a table nothing reads yet.
  if (names.every((name) => createdInFile(name, context))) return [];
  return [
    {
      message: `DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table until it ends, and waits for every running query on that table first: all reads and writes of the table queue behind it.`,
      fix: `Use DROP INDEX CONCURRENTLY ${names.join(', ')} ${SEPARATE_FILE}.`,
    },
  ];
}

function reindex(node: ReindexStmt): RuleHit[] {
  const concurrent = (node.params ?? []).some(
    (param) => 'DefElem' in param && param.DefElem.defname === 'concurrently',
  );
  if (concurrent) return [];
  const target = node.relation === undefined ? (node.name ?? '') : relationName(node.relation);
  return [
    {
      message: `REINDEX blocks every write to the table of ${target} for the whole rebuild, and takes an ACCESS EXCLUSIVE lock on each index it rebuilds, so queries that use that index wait too.`,
      fix: `Use REINDEX ... CONCURRENTLY ${target} (PostgreSQL 12+) ${SEPARATE_FILE}.`,
    },
  ];
}

function createdInFile(name: string, context: LintFileContext): boolean {
  return context.statements.some((statement) => {
    if (statement.kind !== 'IndexStmt') return false;
    const index = statement.node as IndexStmt;
    const qualified =
      index.relation?.schemaname === undefined
        ? index.idxname
        : `${index.relation.schemaname}.${index.idxname ?? ''}`;
    return index.idxname === name || qualified === name;
  });
}
