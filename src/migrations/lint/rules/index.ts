// The linter's rule registry: every rule the engine runs, one import per rule file, sorted by id.
// Add a rule by importing its file here and listing it in RULES (keep both sorted).
import type { Rule } from '../lint-types.ts';
import { rule as addConstraintExistingColumns } from './add-constraint-existing-columns.ts';
import { rule as addNotNullColumnWithoutDefault } from './add-not-null-column-without-default.ts';
import { rule as addUniquePrimaryKeyDirectly } from './add-unique-primary-key-directly.ts';
import { rule as backfillInDdlTransaction } from './backfill-in-ddl-transaction.ts';
import { rule as castUsing } from './cast-using.ts';
import { rule as changeColumnType } from './change-column-type.ts';
import { rule as concurrentlyInTransaction } from './concurrently-in-transaction.ts';
import { rule as constraintWithoutNotValid } from './constraint-without-not-valid.ts';
import { rule as detachPartitionWithoutConcurrently } from './detach-partition-without-concurrently.ts';
import { rule as dropColumn } from './drop-column.ts';
import { rule as dropDefaultNotNull } from './drop-default-not-null.ts';
import { rule as dropNotNull } from './drop-not-null.ts';
import { rule as dropTable } from './drop-table.ts';
import { rule as enumAddValue } from './enum-add-value.ts';
import { rule as enumValueRenameRemove } from './enum-value-rename-remove.ts';
import { rule as indexWithoutConcurrently } from './index-without-concurrently.ts';
import { rule as missingLockTimeout } from './missing-lock-timeout.ts';
import { rule as redefineViewFunction } from './redefine-view-function.ts';
import { rule as renameColumn } from './rename-column.ts';
import { rule as renameDropSchema } from './rename-drop-schema.ts';
import { rule as renameTable } from './rename-table.ts';
import { rule as setNotNull } from './set-not-null.ts';
import { rule as setNotNullWithoutCheck } from './set-not-null-without-check.ts';
import { rule as sqliteForeignKeysInTransaction } from './sqlite-foreign-keys-in-transaction.ts';
import { rule as sqliteTableRebuild } from './sqlite-table-rebuild.ts';
import { rule as tableRewrite } from './table-rewrite.ts';
import { rule as uniqueNotNullExistingData } from './unique-not-null-existing-data.ts';
import { rule as unterminatedNestedBegin } from './unterminated-nested-begin.ts';
import { rule as vacuumFullCluster } from './vacuum-full-cluster.ts';

export const RULES: readonly Rule[] = [
  addConstraintExistingColumns,
  addNotNullColumnWithoutDefault,
  addUniquePrimaryKeyDirectly,
  backfillInDdlTransaction,
  castUsing,
  changeColumnType,
  concurrentlyInTransaction,
  constraintWithoutNotValid,
  detachPartitionWithoutConcurrently,
  dropColumn,
  dropDefaultNotNull,
  dropNotNull,
  dropTable,
  enumAddValue,
  enumValueRenameRemove,
  indexWithoutConcurrently,
  missingLockTimeout,
  redefineViewFunction,
  renameColumn,
  renameDropSchema,
  renameTable,
  setNotNull,
  setNotNullWithoutCheck,
  sqliteForeignKeysInTransaction,
  sqliteTableRebuild,
  tableRewrite,
  uniqueNotNullExistingData,
  unterminatedNestedBegin,
  vacuumFullCluster,
];
