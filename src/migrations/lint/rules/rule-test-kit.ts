// Test helper for one rule: lints a migration's SQL through the engine (lint-sql.ts: header
// tags, tables created earlier in the file, suppressions) with only that rule, and returns its
// hits with the line and text of the statement each is about.
import type { Dialect, Rule, RuleHit } from '../lint-types.ts';
import { lintSql } from '../lint-sql.ts';

export interface KitOptions {
  readonly dialect?: Dialect;
  /** Default: from the file's `-- cutover:transaction` header (on). */
  readonly transactional?: boolean;
  readonly outsideRunner?: boolean;
  /** Tables created by pending migrations of the same run (this file's are added). */
  readonly newTables?: readonly string[];
}

export interface KitHit extends RuleHit {
  readonly line: number;
  readonly sql: string;
}

/** Every hit of `rule` on the file, in statement order. */
export async function hitsOf(rule: Rule, sql: string, options: KitOptions = {}): Promise<KitHit[]> {
  const result = await lintSql(sql, {
    ...options,
    path: 'migrations/0001_test.sql',
    rules: [rule],
  });
  return result.findings.map((finding) => ({
    message: finding.message,
    fix: finding.fix,
    ...(finding.preflight === undefined ? {} : { preflight: finding.preflight }),
    line: finding.line,
    sql: finding.statement,
  }));
}
