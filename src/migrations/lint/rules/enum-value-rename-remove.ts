// Renaming or removing an enum value (or the enum type itself): the serving version still writes
// the old label and casts to the old type name, and both now fail. PostgreSQL has no DROP VALUE:
// removing one means a new type, ALTER COLUMN TYPE ... USING, and DROP TYPE of the old one (or
// deleting from pg_enum), so DROP TYPE and DELETE FROM pg_enum are flagged too. Types created
// in this same file have no user yet.
import type { AlterEnumStmt, DeleteStmt, DropStmt, RenameStmt } from 'libpg-query';
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { dottedName, droppedNames, statementsBefore } from '../sql-ast.ts';

const KINDS = new Set(['AlterEnumStmt', 'DropStmt', 'RenameStmt', 'DeleteStmt']);

export const rule: Rule = {
  id: 'enum-value-rename-remove',
  title: 'Rename or remove an enum value (or the enum type)',
  category: 'compatibility',
  severity: 'error',
  allowedInContract: true,
  dialects: ['postgres'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (!KINDS.has(statement.kind)) return [];
    const created = createdTypes(statementsBefore(statement, context));
    if (statement.kind === 'AlterEnumStmt') {
      const alter = statement.node as AlterEnumStmt;
      const type = dottedName(alter.typeName);
      if (alter.oldVal === undefined || created.has(type)) return [];
      return [
        hit(
          `Renaming the value '${alter.oldVal}' of ${type} to '${alter.newVal ?? '?'}' breaks the version still serving: it writes and compares '${alter.oldVal}', which no longer exists.`,
          type,
        ),
      ];
    }
    if (statement.kind === 'DropStmt') {
      const drop = statement.node as DropStmt;
      if (drop.removeType !== 'OBJECT_TYPE') return [];
      return droppedNames(drop.objects)
        .filter((type) => !created.has(type))
        .map((type) =>
          hit(
            `Dropping the type ${type} removes its values: the version still serving casts to ${type} or writes its values, and fails.`,
            type,
          ),
        );
    }
    if (statement.kind === 'RenameStmt') {
      const rename = statement.node as RenameStmt;
      if (rename.renameType !== 'OBJECT_TYPE') return [];
      const type = dottedName(
        (rename.object as { List?: { items?: [] } } | undefined)?.List?.items,
      );
      if (created.has(type)) return [];
      return [
        hit(
          `Renaming the type ${type} to ${rename.newname ?? '?'} breaks the version still serving: its casts to ${type} fail.`,
          type,
        ),
      ];
    }
    if (statement.kind === 'DeleteStmt') {
      const relation = (statement.node as DeleteStmt).relation;
      if (relation?.relname !== 'pg_enum') return [];
      return [
        hit(
          'Deleting from pg_enum removes enum values under the version still serving, which still writes them (and it can corrupt indexes that hold them).',
          'the enum',
        ),
      ];
    }
    return [];
  },
};

function hit(message: string, type: string): RuleHit {
  return {
    message,
    fix: `Expand/contract: add the new value (ALTER TYPE ${type} ADD VALUE), release a version that writes the new value and reads both, update the rows, and remove the old value (new type + ALTER COLUMN TYPE ... USING) in a contract migration once the old color is retired.`,
  };
}

function createdTypes(statements: readonly LintStatement[]): Set<string> {
  return new Set(
    statements
      .filter((statement) => statement.kind === 'CreateEnumStmt')
      .map((statement) => dottedName((statement.node as { typeName?: [] }).typeName)),
  );
}
