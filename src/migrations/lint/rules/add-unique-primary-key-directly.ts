// ADD UNIQUE / PRIMARY KEY / EXCLUDE builds a new index while the ALTER TABLE holds ACCESS
// EXCLUSIVE on the table: no read or write gets through until the build ends. Building the index
// with CREATE UNIQUE INDEX CONCURRENTLY first and attaching it with `USING INDEX` takes that lock
// only for an instant.
import type { Constraint, Node } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { alterTableCommands, isNewTable, relationName } from '../sql-ast.ts';

const KIND: Readonly<Record<string, string>> = {
  CONSTR_UNIQUE: 'UNIQUE',
  CONSTR_PRIMARY: 'PRIMARY KEY',
  CONSTR_EXCLUSION: 'EXCLUDE',
};

export const rule: Rule = {
  id: 'add-unique-primary-key-directly',
  title: 'ADD UNIQUE/PRIMARY KEY directly (build the index concurrently, then USING INDEX)',
  category: 'locking',
  severity: 'error',
  allowedInContract: false,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    const alter = alterTableCommands(statement);
    if (alter === undefined || isNewTable(context, alter.relation)) return [];
    const table = relationName(alter.relation);
    const hits: RuleHit[] = [];
    for (const command of alter.commands) {
      if (command.subtype === 'AT_AddConstraint') {
        const hit = directIndex(constraintOf(command.def), table, []);
        if (hit !== undefined) hits.push(hit);
      } else if (command.subtype === 'AT_AddColumn' && command.def !== undefined) {
        const column = 'ColumnDef' in command.def ? command.def.ColumnDef : undefined;
        for (const node of column?.constraints ?? []) {
          const hit = directIndex(constraintOf(node), table, [column?.colname ?? '']);
          if (hit !== undefined) hits.push(hit);
        }
      }
    }
    return hits;
  },
};

function constraintOf(node: Node | undefined): Constraint | undefined {
  return node !== undefined && 'Constraint' in node ? node.Constraint : undefined;
}

function directIndex(
  constraint: Constraint | undefined,
  table: string,
  columnOfDef: readonly string[],
): RuleHit | undefined {
  const kind = constraint?.contype === undefined ? undefined : KIND[constraint.contype];
  // `USING INDEX` attaches an index that already exists: only a brief lock.
  if (constraint === undefined || kind === undefined || constraint.indexname !== undefined) {
    return undefined;
  }
  const keys = (constraint.keys ?? []).flatMap((key) =>
    'String' in key ? [key.String.sval ?? ''] : [],
  );
  const columns = (keys.length > 0 ? keys : columnOfDef).join(', ') || '...';
  const index =
    constraint.conname ?? `${table.replace(/^.*\./, '')}_${columns.replace(/, /g, '_')}_key`;
  if (kind === 'EXCLUDE') {
    return {
      message: `ADD EXCLUDE builds its index on ${table} while holding an ACCESS EXCLUSIVE lock: every read and write of ${table} waits for the whole build.`,
      fix: `An exclusion constraint cannot be attached USING INDEX: add it in a low-traffic window with a short lock_timeout, or enforce it on a new table filled in the background.`,
    };
  }
  const primary = kind === 'PRIMARY KEY';
  return {
    message: `ADD ${kind} builds a new unique index on ${table} while holding an ACCESS EXCLUSIVE lock: every read and write of ${table} waits for the whole build${primary ? ', and the key columns are first scanned for NULLs' : ''}.`,
    fix: `In a migration with \`-- cutover:transaction off\`: \`CREATE UNIQUE INDEX CONCURRENTLY ${index} ON ${table} (${columns})\`; then, in the next migration, \`ALTER TABLE ${table} ADD CONSTRAINT ${index} ${kind} USING INDEX ${index}\` (instant)${primary ? '; make the columns NOT NULL first (a validated CHECK (col IS NOT NULL), then SET NOT NULL)' : ''}.`,
  };
}
