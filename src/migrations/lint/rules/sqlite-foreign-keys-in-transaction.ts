// SQLite ignores `PRAGMA foreign_keys = ...` inside a transaction: "This pragma is a no-op
// within a transaction" (https://www.sqlite.org/pragma.html#pragma_foreign_keys). A table
// rebuild that relies on it then runs with foreign keys still enforced: dropping the old table
// fires ON DELETE CASCADE / SET NULL on the rows that reference it, or the migration fails.
import type { LintFileContext, LintStatement, Rule, RuleHit } from '../lint-types.ts';
import { insideTransaction } from './transaction-blocks.ts';

// A write (`= OFF`, `(0)`); a bare `PRAGMA foreign_keys` only reads the setting.
const SET_FOREIGN_KEYS = /^pragma\s+(?:[\w"`[\]]+\.)?foreign_keys\s*(?:=|\()/i;

export const rule: Rule = {
  id: 'sqlite-foreign-keys-in-transaction',
  title: 'SQLite PRAGMA foreign_keys inside a transaction (a no-op)',
  category: 'transactions',
  severity: 'error',
  allowedInContract: false,
  dialects: ['sqlite'],
  check(statement: LintStatement, context: LintFileContext): readonly RuleHit[] {
    if (!SET_FOREIGN_KEYS.test(statement.sql)) return [];
    if (!insideTransaction(context, statement.index)) return [];
    return [
      {
        message: `${statement.sql} runs inside a transaction${context.transactional ? " (the runner's: this file is transactional)" : ' (after a BEGIN)'}, where SQLite ignores it: foreign keys stay as they were, so a table rebuild that drops the old table fires ON DELETE actions on the rows that reference it, or fails.`,
        fix: "Make the file `-- cutover:transaction off` and follow SQLite's procedure: `PRAGMA foreign_keys = OFF;` then `BEGIN;` the rebuild, `PRAGMA foreign_key_check;` `COMMIT;` and `PRAGMA foreign_keys = ON;` (https://www.sqlite.org/lang_altertable.html#otheralter).",
      },
    ];
  },
};
