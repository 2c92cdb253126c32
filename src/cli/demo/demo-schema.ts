// The schema part of a demo deployment (issue 4): which migrations were pending, what the linter
// found, how the shadow check went, what was applied. Pure: kept short for the demo's report,
// which shows why v5 (the linter) and v6 (the shadow check) were refused.
import { basename } from 'node:path';
import type { DeploymentView, SchemaReport } from '../../client/api-types.ts';

/** Longest shadow failure line kept: the check's whole output stays in the deployment's report. */
const FAILURE_KEPT_CHARS = 300;

export interface DemoLintFinding {
  readonly rule: string;
  readonly severity: 'error' | 'warning';
  /** The migration file's name, without its folder. */
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface DemoShadow {
  readonly passed: boolean;
  /** cutover's own time on the shadow (create, apply, drop), not the apps' checks. */
  readonly cutoverMs: number;
  /** Each release's verdict on the migrated shadow. */
  readonly releases: readonly { readonly release: string; readonly passed: boolean }[];
  /** Which release failed which check, one short line each. */
  readonly failures: readonly string[];
}

export interface DemoSchema {
  readonly pending: readonly string[];
  readonly lint: readonly DemoLintFinding[];
  /** Null when the shadow check did not run (nothing pending, or the linter refused first). */
  readonly shadow: DemoShadow | null;
  /** The expand migrations applied to the real database; null when the migrate step did not run. */
  readonly applied: readonly string[] | null;
}

/**
 * One line of a check's failure: its first line without the command text (long, and in the
 * config), cut after the exit code, then the first line of the output that says FAILED.
 */
export function shortFailure(text: string): string {
  const [first = '', ...rest] = text.split('\n');
  // A command that ran (a compat command's text) is left out; one cutover suggests is kept.
  let head = first.replace(/ `(?!cutover )[^`]*`/g, '');
  const failed = [first, ...rest].find((line) => line.startsWith('FAILED'));
  if (rest.length > 0) head = head.replace(/(exit code \d+):.*$/, '$1');
  const line = failed === undefined || head.includes(failed) ? head : `${head}: ${failed}`;
  return line.length <= FAILURE_KEPT_CHARS ? line : `${line.slice(0, FAILURE_KEPT_CHARS - 1)}…`;
}

function toShadow(shadow: NonNullable<SchemaReport['shadow']>): DemoShadow {
  const releases = [shadow.live, shadow.next].filter((entry) => entry !== null);
  return {
    passed: shadow.passed,
    cutoverMs: shadow.cutoverMs,
    releases: releases.map((entry) => ({ release: entry.release, passed: entry.passed })),
    failures: [
      ...(shadow.applyError === null ? [] : [shortFailure(shadow.applyError)]),
      ...shadow.failures.map(shortFailure),
    ],
  };
}

/** The deployment's schema report, or null when it declares no database. */
export function toDemoSchema(view: DeploymentView): DemoSchema | null {
  const schema = view.report.schema;
  if (schema === undefined || schema.skipped !== undefined) return null;
  return {
    pending: schema.pending,
    lint: (schema.lint?.findings ?? []).map((finding) => ({
      rule: finding.rule,
      severity: finding.severity,
      file: basename(finding.path),
      line: finding.line,
      message: finding.message,
    })),
    shadow: schema.shadow === undefined ? null : toShadow(schema.shadow),
    applied: view.report.migrate?.applied ?? null,
  };
}

/** The report's lines for one deployment's schema steps, indented under it. */
export function formatSchemaLines(schema: DemoSchema, indent: string): string[] {
  const lines: string[] = [];
  const pending = schema.pending.length === 0 ? 'none' : schema.pending.join(', ');
  const applied =
    schema.applied === null
      ? ''
      : `; applied ${schema.applied.length === 0 ? 'none' : schema.applied.join(', ')}`;
  lines.push(`${indent}schema: pending ${pending}${applied}`);
  for (const f of schema.lint) {
    lines.push(`${indent}lint: ${f.severity} ${f.rule} at ${f.file}:${f.line}: ${f.message}`);
  }
  const shadow = schema.shadow;
  if (shadow !== null) {
    const verdicts = shadow.releases
      .map((entry) => `${entry.release} ${entry.passed ? 'passed' : 'FAILED'}`)
      .join(', ');
    lines.push(
      `${indent}shadow: ${shadow.passed ? 'passed' : 'failed'}` +
        `${verdicts === '' ? '' : ` (${verdicts})`}, cutover's own time ${Math.round(shadow.cutoverMs)} ms`,
      ...shadow.failures.map((failure) => `${indent}  ${failure}`),
    );
  }
  return lines;
}
