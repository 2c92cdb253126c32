// The linter's rule registry: every rule the engine runs, one import per rule file, sorted by id.
// Add a rule by importing its file here and listing it in RULES (keep both sorted).
import type { Rule } from '../lint-types.ts';
import { rule as addUniquePrimaryKeyDirectly } from './add-unique-primary-key-directly.ts';
import { rule as backfillInDdlTransaction } from './backfill-in-ddl-transaction.ts';
import { rule as castUsing } from './cast-using.ts';
import { rule as concurrentlyInTransaction } from './concurrently-in-transaction.ts';
import { rule as constraintWithoutNotValid } from './constraint-without-not-valid.ts';
import { rule as detachPartitionWithoutConcurrently } from './detach-partition-without-concurrently.ts';
import { rule as indexWithoutConcurrently } from './index-without-concurrently.ts';
import { rule as missingLockTimeout } from './missing-lock-timeout.ts';
import { rule as setNotNullWithoutCheck } from './set-not-null-without-check.ts';
import { rule as sqliteForeignKeysInTransaction } from './sqlite-foreign-keys-in-transaction.ts';
import { rule as tableRewrite } from './table-rewrite.ts';
import { rule as uniqueNotNullExistingData } from './unique-not-null-existing-data.ts';
import { rule as unterminatedNestedBegin } from './unterminated-nested-begin.ts';
import { rule as vacuumFullCluster } from './vacuum-full-cluster.ts';

export const RULES: readonly Rule[] = [
  addUniquePrimaryKeyDirectly,
  backfillInDdlTransaction,
  castUsing,
  concurrentlyInTransaction,
  constraintWithoutNotValid,
  detachPartitionWithoutConcurrently,
  indexWithoutConcurrently,
  missingLockTimeout,
  setNotNullWithoutCheck,
  sqliteForeignKeysInTransaction,
  tableRewrite,
  uniqueNotNullExistingData,
  unterminatedNestedBegin,
  vacuumFullCluster,
];
