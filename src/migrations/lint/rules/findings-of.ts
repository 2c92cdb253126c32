// Test helper for one rule: runs the real engine (lint-sql.ts) with only that rule, so a rule's
// tests see exactly the statements, lines, context and suppressions the linter gives it.
import { lintSql } from '../lint-sql.ts';
import type { LintOptions } from '../lint-sql.ts';
import type { Finding, Rule } from '../lint-types.ts';

/** The findings of `rule` alone on `sql`. */
export async function findingsOf(
  rule: Rule,
  sql: string,
  options: Omit<LintOptions, 'rules'> = {},
): Promise<readonly Finding[]> {
  return (await lintSql(sql, { ...options, rules: [rule] })).findings;
}

/** The lines `rule` flags in `sql`. */
export async function flaggedLines(
  rule: Rule,
  sql: string,
  options: Omit<LintOptions, 'rules'> = {},
): Promise<number[]> {
  return (await findingsOf(rule, sql, options)).map((finding) => finding.line);
}
