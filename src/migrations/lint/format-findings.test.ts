import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFindings, formatText, SARIF_SCHEMA_URL, toSarif } from './format-findings.ts';
import type { LintResult } from './lint-types.ts';
import { RULES } from './rules/index.ts';

const RESULT: LintResult = {
  findings: [
    {
      rule: 'rename-column',
      severity: 'error',
      category: 'compatibility',
      path: 'migrations/0003_rename.sql',
      line: 4,
      statement: 'ALTER TABLE orders\n  RENAME COLUMN customer TO buyer',
      message: 'Renaming breaks the version still serving.',
      fix: 'Add the new column, write both, backfill, switch reads, drop the old in a contract migration.',
    },
    {
      rule: 'unique-not-null-existing-data',
      severity: 'warning',
      category: 'data',
      path: 'migrations/0004_unique.sql',
      line: 1,
      statement: 'CREATE UNIQUE INDEX CONCURRENTLY u ON users (email)',
      message: 'Existing rows may hold duplicates.',
      fix: 'Run the preflight first.',
      preflight: 'SELECT email, count(*) FROM users GROUP BY email HAVING count(*) > 1 LIMIT 10',
    },
  ],
  suppressed: [
    { rule: 'drop-table', path: 'migrations/0005_drop.sql', line: 2, reason: 'unused since v3' },
  ],
  statements: 7,
};

void test('text: path:line rule severity: message, the statement, fix, preflight, suppressed, summary', () => {
  const text = formatText(RESULT);
  assert.equal(
    text,
    [
      'migrations/0003_rename.sql:4 rename-column error: Renaming breaks the version still serving.',
      '    ALTER TABLE orders',
      '      RENAME COLUMN customer TO buyer',
      '  fix: Add the new column, write both, backfill, switch reads, drop the old in a contract migration.',
      '',
      'migrations/0004_unique.sql:1 unique-not-null-existing-data warning: Existing rows may hold duplicates.',
      '    CREATE UNIQUE INDEX CONCURRENTLY u ON users (email)',
      '  fix: Run the preflight first.',
      '  preflight:',
      '    SELECT email, count(*) FROM users GROUP BY email HAVING count(*) > 1 LIMIT 10',
      '',
      'migrations/0005_drop.sql:2 drop-table suppressed: unused since v3',
      '',
      'blocked: 1 error, 1 warning, 1 suppressed finding in 7 statements',
      '',
    ].join('\n'),
  );
  assert.equal(
    formatText({ findings: [], suppressed: [], statements: 1 }),
    'ok: 0 errors, 0 warnings, 0 suppressed findings in 1 statement\n',
  );
});

void test('json: findings, suppressed and the statement count', () => {
  const parsed = JSON.parse(formatFindings(RESULT, 'json')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['findings', 'suppressed', 'statements']);
  assert.deepEqual(parsed, JSON.parse(JSON.stringify(RESULT)));
});

interface SarifLog {
  version: string;
  $schema: string;
  runs: {
    tool: {
      driver: {
        name: string;
        rules: { id: string; shortDescription: { text: string }; help: { text: string } }[];
      };
    };
    results: {
      ruleId: string;
      ruleIndex?: number;
      level: string;
      message: { text: string };
      locations: {
        physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
      }[];
      suppressions?: { kind: string; justification: string }[];
    }[];
  }[];
}

void test('sarif: a 2.1.0 log with the required properties, every rule, and one result per finding', () => {
  const log = JSON.parse(formatFindings(RESULT, 'sarif')) as SarifLog;
  assert.equal(log.version, '2.1.0');
  assert.equal(log.$schema, SARIF_SCHEMA_URL);
  assert.equal(log.runs.length, 1);
  const run = log.runs[0];
  assert.ok(run !== undefined);
  assert.equal(run.tool.driver.name, 'cutover');
  const ids = run.tool.driver.rules.map((rule) => rule.id);
  for (const rule of RULES) assert.ok(ids.includes(rule.id), `rule ${rule.id} in the driver`);
  assert.ok(ids.includes('invalid-suppression'));
  assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
  for (const rule of run.tool.driver.rules) {
    assert.equal(typeof rule.shortDescription.text, 'string');
    assert.ok(rule.shortDescription.text.length > 0);
    assert.ok(rule.help.text.length > 0);
  }
  assert.equal(run.results.length, 3);
  for (const result of run.results) {
    assert.equal(typeof result.ruleId, 'string');
    assert.ok(['error', 'warning'].includes(result.level));
    assert.ok(result.message.text.length > 0);
    assert.equal(result.locations.length, 1);
    const physical = result.locations[0]?.physicalLocation;
    assert.equal(typeof physical?.artifactLocation.uri, 'string');
    assert.ok(
      Number.isInteger(physical?.region.startLine) && (physical?.region.startLine ?? 0) >= 1,
    );
    if (result.ruleIndex !== undefined) {
      assert.equal(run.tool.driver.rules[result.ruleIndex]?.id, result.ruleId);
    }
  }
  const [rename, unique, dropped] = run.results;
  assert.equal(rename?.level, 'error');
  assert.equal(
    rename?.locations[0]?.physicalLocation.artifactLocation.uri,
    'migrations/0003_rename.sql',
  );
  assert.equal(rename?.locations[0]?.physicalLocation.region.startLine, 4);
  assert.match(rename?.message.text ?? '', /Fix: Add the new column/);
  assert.equal(unique?.level, 'warning');
  assert.deepEqual(dropped?.suppressions, [{ kind: 'inSource', justification: 'unused since v3' }]);
});

void test('sarif: absolute paths become file URIs, spaces are escaped', () => {
  const log = toSarif({
    findings: [{ ...RESULT.findings[0]!, path: '/srv/app/migrations/0001 first.sql' }],
    suppressed: [],
    statements: 1,
  }) as unknown as SarifLog;
  assert.equal(
    log.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation.uri,
    'file:///srv/app/migrations/0001%20first.sql',
  );
});
