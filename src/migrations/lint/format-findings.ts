// The linter's report in three shapes: text for people, JSON for scripts, and SARIF 2.1.0 for
// code-scanning tools (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html).
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, LintResult, Rule } from './lint-types.ts';
import { INVALID_SUPPRESSION_RULE } from './lint-sql.ts';
import { RULES } from './rules/index.ts';

export type FindingsFormat = 'text' | 'json' | 'sarif';

export const FINDINGS_FORMATS: readonly FindingsFormat[] = ['text', 'json', 'sarif'];

export const SARIF_SCHEMA_URL = 'https://json.schemastore.org/sarif-2.1.0.json';

export function formatFindings(
  result: LintResult,
  format: FindingsFormat,
  rules: readonly Rule[] = RULES,
): string {
  if (format === 'json') return formatJson(result);
  if (format === 'sarif') return `${JSON.stringify(toSarif(result, rules), null, 2)}\n`;
  return formatText(result);
}

/** `path:line rule severity: message`, the statement indented, then `fix:`; a summary last. */
export function formatText(result: LintResult): string {
  const blocks = result.findings.map((finding) => {
    const lines = [
      `${finding.path}:${finding.line} ${finding.rule} ${finding.severity}: ${finding.message}`,
      ...indent(finding.statement, '    '),
      `  fix: ${finding.fix}`,
    ];
    if (finding.preflight !== undefined) {
      lines.push('  preflight:', ...indent(finding.preflight, '    '));
    }
    return lines.join('\n');
  });
  const suppressed = result.suppressed.map(
    (entry) => `${entry.path}:${entry.line} ${entry.rule} suppressed: ${entry.reason}`,
  );
  return [...blocks, ...(suppressed.length > 0 ? [suppressed.join('\n')] : []), summary(result)]
    .join('\n\n')
    .concat('\n');
}

export function formatJson(result: LintResult): string {
  const { findings, suppressed, statements } = result;
  return `${JSON.stringify({ findings, suppressed, statements }, null, 2)}\n`;
}

function summary(result: LintResult): string {
  const errors = result.findings.filter((finding) => finding.severity === 'error').length;
  const warnings = result.findings.length - errors;
  const verdict = errors > 0 ? 'blocked' : 'ok';
  return `${verdict}: ${count(errors, 'error')}, ${count(warnings, 'warning')}, ${count(result.suppressed.length, 'suppressed finding')} in ${count(result.statements, 'statement')}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function indent(text: string, prefix: string): string[] {
  return text.split('\n').map((line) => `${prefix}${line}`);
}

interface SarifRule {
  readonly id: string;
  readonly shortDescription: { readonly text: string };
  readonly help: { readonly text: string };
}

/** A SARIF 2.1.0 log with one run; suppressed findings are results with an inSource suppression. */
export function toSarif(
  result: LintResult,
  rules: readonly Rule[] = RULES,
): Record<string, unknown> {
  const driverRules: SarifRule[] = [
    ...rules.map((rule) => ({
      id: rule.id,
      shortDescription: { text: rule.title },
      help: {
        text: `${rule.title} (${rule.category}, ${rule.severity}${rule.allowedInContract ? '; allowed in a contract migration' : ''}). Each finding's message gives the safe alternative; docs/migrations.md lists every rule.`,
      },
    })),
    {
      id: INVALID_SUPPRESSION_RULE,
      shortDescription: { text: 'A cutover:ignore comment without a reason or a known rule' },
      help: { text: 'Write `-- cutover:ignore <rule-id> <reason>` right above the statement.' },
    },
  ];
  const index = new Map(driverRules.map((rule, position) => [rule.id, position]));
  const severityOf = new Map(rules.map((rule) => [rule.id, rule.severity]));
  const results = [
    ...result.findings.map((finding) => sarifResult(finding, index.get(finding.rule))),
    ...result.suppressed.map((entry) => ({
      ruleId: entry.rule,
      ...ruleIndex(index.get(entry.rule)),
      level: severityOf.get(entry.rule) === 'warning' ? 'warning' : 'error',
      message: { text: `Suppressed: ${entry.reason}` },
      locations: [location(entry.path, entry.line)],
      suppressions: [{ kind: 'inSource', justification: entry.reason }],
    })),
  ];
  return {
    version: '2.1.0',
    $schema: SARIF_SCHEMA_URL,
    runs: [
      {
        tool: {
          driver: {
            name: 'cutover',
            rules: driverRules,
          },
        },
        results,
      },
    ],
  };
}

function sarifResult(finding: Finding, position: number | undefined): Record<string, unknown> {
  return {
    ruleId: finding.rule,
    ...ruleIndex(position),
    level: finding.severity,
    message: { text: `${finding.message} Fix: ${finding.fix}` },
    locations: [location(finding.path, finding.line)],
  };
}

function ruleIndex(position: number | undefined): { ruleIndex?: number } {
  return position === undefined ? {} : { ruleIndex: position };
}

function location(path: string, line: number): Record<string, unknown> {
  // SARIF wants a URI: relative paths stay relative (with forward slashes), absolute become file://.
  const uri = isAbsolute(path) ? pathToFileURL(path).href : encodeURI(path.replaceAll('\\', '/'));
  return {
    physicalLocation: {
      artifactLocation: { uri },
      region: { startLine: Math.max(1, line) },
    },
  };
}
