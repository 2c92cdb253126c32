// Which table lock each statement of a PostgreSQL migration takes, derived from its parsed kind
// (PostgreSQL docs §13.3.1 "Table-Level Locks", and each command's reference page). Measuring
// pg_locks from a second connection during every statement would be exact but heavy; the lock a
// command takes is fixed by the command, so a table of kinds gives the same answer.
import { loadModule, parseSync } from 'libpg-query';

export type LockMode =
  | 'ACCESS EXCLUSIVE'
  | 'EXCLUSIVE'
  | 'SHARE ROW EXCLUSIVE'
  | 'SHARE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'ROW EXCLUSIVE';

export interface StatementLock {
  /** 0-based position in the file. */
  readonly index: number;
  /** The parsed node type, e.g. `AlterTableStmt`. */
  readonly kind: string;
  /** The existing table (or index) it locks, `schema.name` when qualified; null when none. */
  readonly table: string | null;
  /** `none` for statements that lock no existing table (new tables, functions, SET); null when unknown. */
  readonly lock: LockMode | 'none' | null;
}

type Node = Readonly<Record<string, unknown>>;

/** Lock of each ALTER TABLE subcommand weaker than ACCESS EXCLUSIVE (§13.3.1, ALTER TABLE notes). */
const ALTER_TABLE_LOCKS: Readonly<Record<string, LockMode>> = {
  AT_ValidateConstraint: 'SHARE UPDATE EXCLUSIVE',
  AT_SetStatistics: 'SHARE UPDATE EXCLUSIVE',
  AT_ClusterOn: 'SHARE UPDATE EXCLUSIVE',
  AT_DropCluster: 'SHARE UPDATE EXCLUSIVE',
  AT_AttachPartition: 'SHARE UPDATE EXCLUSIVE',
  AT_EnableTrig: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigUser: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigUser: 'SHARE ROW EXCLUSIVE',
};

/** Strongest first, so the strongest of several subcommands wins. */
const STRENGTH: readonly LockMode[] = [
  'ACCESS EXCLUSIVE',
  'EXCLUSIVE',
  'SHARE ROW EXCLUSIVE',
  'SHARE',
  'SHARE UPDATE EXCLUSIVE',
  'ROW EXCLUSIVE',
];

let loaded: Promise<void> | null = null;

/** Parses `sql` and names each statement's lock; SQL the parser rejects yields an empty list. */
export async function describeStatementLocks(sql: string): Promise<StatementLock[]> {
  loaded ??= loadModule();
  await loaded;
  let stmts: readonly { stmt?: Node }[];
  try {
    stmts = (parseSync(sql) as { stmts?: { stmt?: Node }[] }).stmts ?? [];
  } catch {
    return [];
  }
  return stmts.map((raw, index) => {
    const [kind, node] = (Object.entries(raw.stmt ?? {})[0] ?? ['Unknown', {}]) as [string, Node];
    return { index, kind, ...lockOf(kind, node) };
  });
}

function lockOf(
  kind: string,
  node: Node,
): { table: string | null; lock: LockMode | 'none' | null } {
  const table = relationName(node.relation);
  switch (kind) {
    case 'AlterTableStmt':
      return { table, lock: strongest(alterTableLocks(node)) };
    case 'IndexStmt':
      return { table, lock: node.concurrent === true ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE' };
    case 'DropStmt':
      return {
        table: dropNames(node),
        lock:
          node.removeType === 'OBJECT_INDEX' && node.concurrent === true
            ? 'SHARE UPDATE EXCLUSIVE'
            : 'ACCESS EXCLUSIVE',
      };
    case 'RenameStmt':
    case 'TruncateStmt':
    case 'ClusterStmt':
      return { table: table ?? relationName(firstOf(node.relations)), lock: 'ACCESS EXCLUSIVE' };
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return { table, lock: 'ROW EXCLUSIVE' };
    case 'CreateTrigStmt':
      return { table, lock: 'SHARE ROW EXCLUSIVE' };
    case 'ReindexStmt':
      return {
        table,
        lock: hasOption(node.params, 'concurrently') ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE',
      };
    case 'VacuumStmt': {
      const rel = firstOf(node.rels) as Node | undefined;
      const vacuumed = relationName((rel?.VacuumRelation as Node | undefined)?.relation);
      const full = hasOption(node.options, 'full');
      return { table: vacuumed, lock: full ? 'ACCESS EXCLUSIVE' : 'SHARE UPDATE EXCLUSIVE' };
    }
    case 'ViewStmt':
      return {
        table: relationName(node.view),
        lock: node.replace === true ? 'ACCESS EXCLUSIVE' : 'none',
      };
    case 'CreateStmt':
    case 'CreateTableAsStmt':
    case 'CreateFunctionStmt':
    case 'CreateEnumStmt':
    case 'CreateSeqStmt':
    case 'CreateSchemaStmt':
    case 'VariableSetStmt':
    case 'TransactionStmt':
    case 'CommentStmt':
      return { table: null, lock: 'none' };
    default:
      return { table, lock: null };
  }
}

function alterTableLocks(node: Node): LockMode[] {
  const cmds = Array.isArray(node.cmds) ? (node.cmds as Node[]) : [];
  return cmds.map((entry) => {
    const cmd = (entry.AlterTableCmd ?? {}) as Node;
    const subtype = String(cmd.subtype);
    if (subtype === 'AT_AddConstraint') {
      const constraint = ((cmd.def as Node | undefined)?.Constraint ?? {}) as Node;
      // A new foreign key takes SHARE ROW EXCLUSIVE on both tables; other constraints ACCESS EXCLUSIVE.
      return constraint.contype === 'CONSTR_FOREIGN' ? 'SHARE ROW EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    }
    if (subtype === 'AT_DetachPartition' || subtype === 'AT_DetachPartitionFinalize') {
      const spec = ((cmd.def as Node | undefined)?.PartitionCmd ?? {}) as Node;
      return spec.concurrent === true ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    }
    return ALTER_TABLE_LOCKS[subtype] ?? 'ACCESS EXCLUSIVE';
  });
}

function strongest(locks: readonly LockMode[]): LockMode {
  return STRENGTH.find((mode) => locks.includes(mode)) ?? 'ACCESS EXCLUSIVE';
}

function relationName(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const relation = ((value as Node).RangeVar ?? value) as Node;
  if (typeof relation.relname !== 'string') return null;
  return typeof relation.schemaname === 'string'
    ? `${relation.schemaname}.${relation.relname}`
    : relation.relname;
}

function dropNames(node: Node): string | null {
  const objects = Array.isArray(node.objects) ? (node.objects as Node[]) : [];
  const names = objects.map((object) => {
    const items = ((object.List as Node | undefined)?.items ?? []) as Node[];
    return items
      .map((item) => (item.String as Node | undefined)?.sval)
      .filter((part): part is string => typeof part === 'string')
      .join('.');
  });
  return names.length === 0 ? null : names.join(', ');
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? (value[0] as unknown) : undefined;
}

function hasOption(options: unknown, name: string): boolean {
  if (!Array.isArray(options)) return false;
  return (options as Node[]).some(
    (option) => (option.DefElem as Node | undefined)?.defname === name,
  );
}
