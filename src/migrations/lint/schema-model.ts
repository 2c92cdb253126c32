// A small model of the schema the earlier migrations of a folder built (issue 4): table ->
// column -> type, from their CREATE TABLE, ALTER TABLE ... ADD COLUMN / ALTER COLUMN TYPE /
// DROP COLUMN, RENAME and DROP TABLE statements in name order. A single file cannot show a
// column's old type; the model can, so a narrowing (varchar(64) -> varchar(12)) is seen. What
// the model does not know (a table made by a function, a view, another tool) stays unknown, and
// the rules then judge as they would without it.
import type { ColumnDef, Node, RangeVar } from 'libpg-query';
import { columnTypeOf } from './column-types.ts';
import type { ColumnType } from './column-types.ts';

export interface SchemaModel {
  /** The type `table.column` has before the statement being linted, if the migrations say. */
  columnType(relation: RangeVar | undefined, column: string): ColumnType | undefined;
}

export interface MutableSchemaModel extends SchemaModel {
  /** Applies what one parsed statement (a LintStatement) does to tables and columns. */
  apply(statement: {
    readonly kind: string;
    readonly node: Readonly<Record<string, unknown>>;
  }): void;
}

/** `schema.table`, with the default schema named: `users` and `public.users` are one table. */
function tableKey(relation: RangeVar | undefined): string | undefined {
  if (relation?.relname === undefined) return undefined;
  return `${relation.schemaname ?? 'public'}.${relation.relname}`;
}

function stringsOf(nodes: readonly Node[] | undefined): string[] {
  return (nodes ?? []).map((node) => ('String' in node ? (node.String.sval ?? '') : ''));
}

export function createSchemaModel(): MutableSchemaModel {
  const tables = new Map<string, Map<string, ColumnType>>();

  function setColumn(table: string, definition: ColumnDef | undefined, name?: string): void {
    const column = name ?? definition?.colname;
    if (column === undefined) return;
    const columns = tables.get(table) ?? new Map<string, ColumnType>();
    tables.set(table, columns);
    const type = columnTypeOf(definition?.typeName);
    if (type === undefined) columns.delete(column);
    else columns.set(column, type);
  }

  function applyAlter(node: Record<string, unknown>): void {
    const { relation, cmds, objtype } = node as {
      relation?: RangeVar;
      cmds?: Node[];
      objtype?: string;
    };
    const table = tableKey(relation);
    if (table === undefined || (objtype !== undefined && objtype !== 'OBJECT_TABLE')) return;
    for (const cmd of cmds ?? []) {
      if (!('AlterTableCmd' in cmd)) continue;
      const command = cmd.AlterTableCmd;
      const definition =
        command.def !== undefined && 'ColumnDef' in command.def ? command.def.ColumnDef : undefined;
      if (command.subtype === 'AT_AddColumn') setColumn(table, definition);
      else if (command.subtype === 'AT_AlterColumnType' && tables.has(table)) {
        setColumn(table, definition, command.name);
      } else if (command.subtype === 'AT_DropColumn' && command.name !== undefined) {
        tables.get(table)?.delete(command.name);
      }
    }
  }

  function applyRename(node: Record<string, unknown>): void {
    const { renameType, relation, subname, newname } = node as {
      renameType?: string;
      relation?: RangeVar;
      subname?: string;
      newname?: string;
    };
    const table = tableKey(relation);
    if (table === undefined || newname === undefined) return;
    const columns = tables.get(table);
    if (renameType === 'OBJECT_COLUMN' && subname !== undefined && columns !== undefined) {
      const type = columns.get(subname);
      columns.delete(subname);
      if (type !== undefined) columns.set(newname, type);
    } else if (renameType === 'OBJECT_TABLE' && columns !== undefined) {
      tables.delete(table);
      tables.set(`${relation?.schemaname ?? 'public'}.${newname}`, columns);
    }
  }

  function applyDrop(node: Record<string, unknown>): void {
    const { removeType, objects } = node as { removeType?: string; objects?: Node[] };
    if (removeType !== 'OBJECT_TABLE') return;
    for (const object of objects ?? []) {
      const parts = 'List' in object ? stringsOf(object.List.items) : [];
      const name = parts.length === 1 ? `public.${parts[0] ?? ''}` : parts.slice(-2).join('.');
      tables.delete(name);
    }
  }

  return {
    columnType(relation, column) {
      const table = tableKey(relation);
      return table === undefined ? undefined : tables.get(table)?.get(column);
    },
    apply(statement) {
      const node = statement.node as Record<string, unknown>;
      switch (statement.kind) {
        case 'CreateStmt': {
          const { relation, tableElts } = node as { relation?: RangeVar; tableElts?: Node[] };
          const table = tableKey(relation);
          if (table === undefined) return;
          tables.set(table, new Map());
          for (const element of tableElts ?? []) {
            if ('ColumnDef' in element) setColumn(table, element.ColumnDef);
          }
          return;
        }
        case 'AlterTableStmt':
          applyAlter(node);
          return;
        case 'RenameStmt':
          applyRename(node);
          return;
        case 'DropStmt':
          applyDrop(node);
          return;
        default:
          return;
      }
    },
  };
}
