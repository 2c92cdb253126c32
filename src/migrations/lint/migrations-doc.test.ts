// Ties the rules table of docs/migrations.md to the linter: every rule id has one row, and the
// registered rules' category, severity and contract column match their code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RULE_IDS } from './lint-types.ts';
import { RULES } from './rules/index.ts';

const DOC_PATH = new URL('../../../docs/migrations.md', import.meta.url);
const ROW = /^\|\s*`([a-z-]+)`\s*\|\s*(\w+)\s*\|\s*(\w+)\s*\|\s*(yes|no)\s*\|\s*(\S.*?)\s*\|$/;

interface DocRow {
  readonly id: string;
  readonly category: string;
  readonly severity: string;
  readonly contract: boolean;
  readonly insteadText: string;
}

const rows: DocRow[] = readFileSync(DOC_PATH, 'utf8')
  .split('\n')
  .flatMap((line) => {
    const match = ROW.exec(line);
    if (match === null) return [];
    const [, id, category, severity, contract, insteadText] = match as unknown as string[];
    return [
      {
        id: id ?? '',
        category: category ?? '',
        severity: severity ?? '',
        contract: contract === 'yes',
        insteadText: insteadText ?? '',
      },
    ];
  });
const allIds: string[] = Object.values(RULE_IDS).flat();

void test('every rule id of the contract and of the registry has a row in docs/migrations.md', () => {
  const documented = new Set(rows.map((row) => row.id));
  const missing = [...new Set([...allIds, ...RULES.map((rule) => rule.id)])].filter(
    (id) => !documented.has(id),
  );
  assert.deepEqual(
    missing,
    [],
    `add rows to the rules table of docs/migrations.md: ${missing.join(', ')}`,
  );
});

void test('every row names a real rule, once, with what to do instead', () => {
  const seen = new Set<string>();
  for (const row of rows) {
    assert.ok(allIds.includes(row.id), `docs/migrations.md documents an unknown rule ${row.id}`);
    assert.ok(!seen.has(row.id), `${row.id} is documented twice`);
    seen.add(row.id);
    assert.ok(row.insteadText.length > 10, `${row.id}: say what to do instead`);
  }
  assert.equal(rows.length, allIds.length);
});

void test("the registered rules' category, severity and contract column match the code", () => {
  for (const rule of RULES) {
    const row = rows.find((candidate) => candidate.id === rule.id);
    assert.ok(row !== undefined, rule.id);
    assert.equal(row.category, rule.category, `${rule.id}: category in docs/migrations.md`);
    assert.equal(row.severity, rule.severity, `${rule.id}: severity in docs/migrations.md`);
    assert.equal(
      row.contract,
      rule.allowedInContract,
      `${rule.id}: contract column in docs/migrations.md`,
    );
  }
});
