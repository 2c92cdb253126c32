import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCutoverError } from '../../core/errors.ts';
import {
  INVALID_SUPPRESSION_RULE,
  lintFiles,
  lintFolder,
  lintMigrations,
  lintSql,
} from './lint-sql.ts';
import type { LintFileContext, LintStatement, Rule } from './lint-types.ts';
import { RULES } from './rules/index.ts';

/** A rule that records what it saw and flags every statement of `kind`. */
function spyRule(kind: string, overrides: Partial<Rule> = {}) {
  const seen: { statement: LintStatement; context: LintFileContext }[] = [];
  const rule: Rule = {
    id: 'drop-table',
    title: 'test rule',
    category: 'compatibility',
    severity: 'error',
    allowedInContract: false,
    dialects: ['postgres', 'sqlite'],
    check(statement, context) {
      seen.push({ statement, context });
      return statement.kind === kind ? [{ message: `saw ${kind}`, fix: 'do not' }] : [];
    },
    ...overrides,
  };
  return { rule, seen };
}

void test('statements get their kind, trimmed text and the line of their first code character', async () => {
  const { rule, seen } = spyRule('DropStmt');
  const sql = [
    '-- cutover:phase expand',
    '-- Ünïcödé comment: byte offsets must not shift the lines ✓',
    "INSERT INTO notes (body) VALUES ('héllo ☃');",
    '',
    '/* block',
    '   comment */ DROP TABLE old_notes;',
    'ALTER TABLE notes',
    '  ADD COLUMN tag text; -- trailing',
    'SELECT 1',
    '-- the end',
    '',
  ].join('\n');
  const result = await lintSql(sql, { path: 'm.sql', rules: [rule] });
  assert.equal(result.statements, 4);
  assert.deepEqual(
    seen.map(({ statement }) => [statement.index, statement.line, statement.kind, statement.sql]),
    [
      [0, 3, 'InsertStmt', "INSERT INTO notes (body) VALUES ('héllo ☃')"],
      [1, 6, 'DropStmt', 'DROP TABLE old_notes'],
      [2, 7, 'AlterTableStmt', 'ALTER TABLE notes\n  ADD COLUMN tag text'],
      [3, 9, 'SelectStmt', 'SELECT 1'],
    ],
  );
  assert.deepEqual(result.findings, [
    {
      rule: 'drop-table',
      severity: 'error',
      category: 'compatibility',
      path: 'm.sql',
      line: 6,
      statement: 'DROP TABLE old_notes',
      message: 'saw DropStmt',
      fix: 'do not',
    },
  ]);
});

void test('a parse error is a tool error naming the file, the line and the parser message', async () => {
  const sql = "-- ü\nCREATE TABLE a (id int);\nSELECT 'ü';\nALTER TABLE a ADDD COLUMN b int;\n";
  await assert.rejects(lintSql(sql, { path: 'bad.sql', rules: [] }), (error: unknown) => {
    assert.ok(isCutoverError(error));
    assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_PARSE');
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /^bad\.sql:4: syntax error at or near "ADDD"/);
    return true;
  });
});

void test('a bad header tag is a parse error too', async () => {
  await assert.rejects(
    lintSql('-- cutover:phase contracts\nSELECT 1;', { rules: [] }),
    /cutover:phase must be expand or contract/,
  );
});

void test('SQLite: statements the parser cannot read become Unparsed, the others stay parsed', async () => {
  const { rule, seen } = spyRule('Unparsed');
  const sql = [
    'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);',
    "INSERT INTO t (name) VALUES ('a;b');",
    'CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN',
    '  UPDATE t SET name = upper(name) WHERE id = new.id;',
    'END;',
    'PRAGMA foreign_keys = ON;',
  ].join('\n');
  const result = await lintSql(sql, { dialect: 'sqlite', rules: [rule] });
  assert.deepEqual(
    seen.map(({ statement }) => [statement.line, statement.kind]),
    [
      [1, 'Unparsed'],
      [2, 'InsertStmt'],
      [3, 'Unparsed'],
      [6, 'Unparsed'],
    ],
  );
  assert.equal(result.findings.length, 3);
  assert.equal(seen[2]?.statement.sql.endsWith('END'), true);
  // The table the unparsed CREATE TABLE makes is new for the statements after it.
  assert.ok(seen[1]?.context.newTables.has('t'));
  // Postgres never falls back: the same text is a parse error.
  await assert.rejects(lintSql(sql, { rules: [rule] }), /CREATE TABLE|syntax error/);
});

void test('rules run only for their dialect, and allowedInContract rules skip contract files', async () => {
  const pgOnly = spyRule('DropStmt', { dialects: ['postgres'] });
  await lintSql('DROP TABLE a;', { dialect: 'sqlite', rules: [pgOnly.rule] });
  assert.equal(pgOnly.seen.length, 0);
  const contractOk = spyRule('DropStmt', { allowedInContract: true });
  const contract = await lintSql('-- cutover:phase contract\nDROP TABLE a;', {
    rules: [contractOk.rule],
  });
  assert.deepEqual(contract.findings, []);
  const expand = await lintSql('DROP TABLE a;', { rules: [contractOk.rule] });
  assert.equal(expand.findings.length, 1);
  const forced = await lintSql('DROP TABLE a;', { phase: 'contract', rules: [contractOk.rule] });
  assert.deepEqual(forced.findings, []);
});

void test('the context carries the header, the options and the tables created before each statement', async () => {
  const { rule, seen } = spyRule('none');
  await lintSql(
    '-- cutover:transaction off\nCREATE TABLE app.a (id int);\nCREATE TABLE b AS SELECT 1;\nSELECT 1;',
    { rules: [rule], newTables: ['old_new'], outsideRunner: true },
  );
  const first = seen[0]?.context;
  assert.equal(first?.transactional, false);
  assert.equal(first?.phase, 'expand');
  assert.equal(first?.outsideRunner, true);
  assert.equal(first?.statements.length, 3);
  assert.deepEqual([...(first?.newTables ?? [])], ['old_new']);
  assert.deepEqual([...(seen[1]?.context.newTables ?? [])], ['old_new', 'app.a']);
  assert.deepEqual([...(seen[2]?.context.newTables ?? [])], ['old_new', 'app.a', 'b']);
});

void test('suppressions: above the statement or at its end silence one rule, with the reason listed', async () => {
  const { rule } = spyRule('DropStmt');
  const sql = [
    '-- cutover:ignore drop-table the old table was unused since v3',
    '-- (checked in the access logs)',
    'DROP TABLE a;',
    'DROP TABLE b; -- cutover:ignore drop-table b is a scratch table',
    'DROP TABLE c; -- cutover:ignore rename-table wrong rule does not silence drop-table',
    'DROP TABLE',
    '  d; -- cutover:ignore drop-table ends on its last line',
  ].join('\n');
  const result = await lintSql(sql, { path: 'x.sql', rules: [rule] });
  assert.deepEqual(result.suppressed, [
    { rule: 'drop-table', path: 'x.sql', line: 3, reason: 'the old table was unused since v3' },
    { rule: 'drop-table', path: 'x.sql', line: 4, reason: 'b is a scratch table' },
    { rule: 'drop-table', path: 'x.sql', line: 6, reason: 'ends on its last line' },
  ]);
  assert.deepEqual(
    result.findings.map((finding) => [finding.rule, finding.line]),
    [['drop-table', 5]],
  );
});

void test('a suppression without a reason, with an unknown rule, or next to no statement is a finding', async () => {
  const { rule } = spyRule('DropStmt');
  const sql = [
    '-- cutover:ignore drop-table',
    'DROP TABLE a;',
    '-- cutover:ignore no-such-rule because',
    'SELECT 1;',
    '-- cutover:ignore drop-table a blank line follows',
    '',
    'DROP TABLE b;',
    '-- cutover:ignore',
    'SELECT 2;',
  ].join('\n');
  const result = await lintSql(sql, { rules: [rule] });
  assert.deepEqual(
    result.findings.map((finding) => [finding.rule, finding.line, finding.severity]),
    [
      [INVALID_SUPPRESSION_RULE, 1, 'error'],
      ['drop-table', 2, 'error'],
      [INVALID_SUPPRESSION_RULE, 3, 'error'],
      [INVALID_SUPPRESSION_RULE, 5, 'error'],
      ['drop-table', 7, 'error'],
      [INVALID_SUPPRESSION_RULE, 8, 'error'],
    ],
  );
  assert.match(result.findings[0]?.message ?? '', /no reason/);
  assert.match(result.findings[2]?.message ?? '', /"no-such-rule" is not a rule id/);
  assert.match(result.findings[3]?.message ?? '', /silences nothing/);
  assert.match(result.findings[5]?.message ?? '', /names no rule/);
  assert.deepEqual(result.suppressed, []);
});

void test('lintFiles reads each header, lints in name order and carries new tables forward', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-lint-'));
  try {
    await writeFile(join(dir, '0002_index.sql'), 'CREATE INDEX i ON widgets (id);\n');
    await writeFile(join(dir, '0001_create.sql'), 'CREATE TABLE widgets (id int);\n');
    await writeFile(join(dir, '0003_drop.sql'), '-- cutover:phase contract\nDROP TABLE gadgets;\n');
    const { rule, seen } = spyRule('DropStmt', { allowedInContract: true });
    const result = await lintFiles(
      ['0003_drop.sql', '0002_index.sql', '0001_create.sql'].map((name) => join(dir, name)),
      { rules: [rule] },
    );
    assert.equal(result.statements, 3);
    assert.deepEqual(result.findings, []);
    assert.deepEqual(
      seen.map(({ statement, context }) => [statement.kind, context.phase, [...context.newTables]]),
      [
        ['CreateStmt', 'expand', []],
        ['IndexStmt', 'expand', ['widgets']],
      ],
    );
    await assert.rejects(lintFiles([join(dir, 'missing.sql')]), (error: unknown) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_MIGRATION_READ');
      assert.match(error.message, /missing\.sql: no such file/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('the statements inside a DO block are linted at the block’s line', async () => {
  const { rule, seen } = spyRule('AlterTableStmt');
  const sql = [
    'SELECT 1;',
    '-- cutover:ignore drop-table reason given for the block',
    'DO $$',
    'BEGIN',
    '  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE column_name = $q$x$q$) THEN',
    '    ALTER TABLE users DROP COLUMN legacy_flags;',
    '  END IF;',
    "  EXECUTE 'ALTER TABLE orders RENAME COLUMN a TO b';",
    '  EXECUTE format($f$ALTER TABLE %I DROP COLUMN c$f$, tbl);',
    'END',
    '$$;',
    "DO LANGUAGE plperl 'print 1';",
  ].join('\n');
  const result = await lintSql(sql, { rules: [rule] });
  assert.deepEqual(
    seen.map(({ statement }) => [statement.index, statement.line, statement.kind, statement.sql]),
    [
      [0, 1, 'SelectStmt', 'SELECT 1'],
      [1, 3, 'DoStmt', sql.split('\n').slice(2, 11).join('\n').slice(0, -1)],
      [2, 3, 'AlterTableStmt', 'ALTER TABLE users DROP COLUMN legacy_flags'],
      [3, 3, 'RenameStmt', 'ALTER TABLE orders RENAME COLUMN a TO b'],
      [4, 12, 'DoStmt', "DO LANGUAGE plperl 'print 1'"],
    ],
  );
  // The spy rule has the id drop-table: the suppression above the block covers its statements.
  assert.deepEqual(result.findings, []);
  assert.deepEqual(
    result.suppressed.map((entry) => [entry.rule, entry.line]),
    [['drop-table', 3]],
  );
});

void test('a byte order mark and CRLF line ends change neither parsing nor lines nor reasons', async () => {
  const { rule } = spyRule('DropStmt');
  const sql =
    '\uFEFF-- cutover:phase expand\r\nSELECT 1;\r\n-- cutover:ignore drop-table legacy\r\nDROP TABLE b;\r\nDROP TABLE c;\r\n';
  const result = await lintSql(sql, { rules: [rule] });
  assert.deepEqual(result.suppressed, [
    { rule: 'drop-table', path: '<sql>', line: 4, reason: 'legacy' },
  ]);
  assert.deepEqual(
    result.findings.map((finding) => [finding.line, finding.statement]),
    [[5, 'DROP TABLE c']],
  );
});

void test('an empty or comment-only file has no statement and no finding', async () => {
  for (const sql of ['', '\n  \n', '-- only a note\n/* and a block */\n']) {
    for (const dialect of ['postgres', 'sqlite'] as const) {
      assert.deepEqual(await lintSql(sql, { dialect }), {
        findings: [],
        suppressed: [],
        statements: 0,
      });
    }
  }
});

void test('lintMigrations lints texts already read, in the order given, as one run', async () => {
  const { rule, seen } = spyRule('DropStmt');
  const result = await lintMigrations(
    [
      { path: 'm/0001.sql', sql: 'CREATE TABLE a (id int);' },
      { path: 'm/0002.sql', sql: '-- cutover:transaction off\nDROP TABLE b;' },
    ],
    { rules: [rule] },
  );
  assert.deepEqual(
    result.findings.map((finding) => [finding.path, finding.line]),
    [['m/0002.sql', 2]],
  );
  assert.equal(seen[1]?.context.transactional, false);
  assert.deepEqual([...(seen[1]?.context.newTables ?? [])], ['a']);
});

void test('lintFiles and lintMigrations read the earlier files of the folder for column types', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-lint-'));
  try {
    await writeFile(
      join(dir, '0001_products.sql'),
      'CREATE TABLE products (id int8, code varchar(64));\n',
    );
    await writeFile(join(dir, '0002_broken.sql'), 'this is not SQL;\n');
    const narrow = 'ALTER TABLE products ALTER COLUMN code TYPE varchar(12);\n';
    await writeFile(join(dir, '0003_narrow.sql'), narrow);
    await writeFile(join(dir, '0004_later.sql'), 'DROP TABLE products;\n');
    const rules = RULES.filter((rule) => rule.id === 'change-column-type');
    const flagged = (result: { findings: readonly { rule: string }[] }): string[] =>
      result.findings.map((finding) => finding.rule);

    // The earlier files (an unreadable one adds nothing), never the later ones.
    assert.deepEqual(flagged(await lintFiles([join(dir, '0003_narrow.sql')], { rules })), [
      'change-column-type',
    ]);
    assert.deepEqual(
      flagged(
        await lintMigrations([{ path: join(dir, '0003_narrow.sql'), sql: narrow }], { rules }),
      ),
      ['change-column-type'],
    );
    // Given explicitly, `earlier` replaces the folder: no earlier migration, no old type known.
    assert.deepEqual(
      flagged(await lintFiles([join(dir, '0003_narrow.sql')], { rules, earlier: [] })),
      [],
    );
    // A folder (`migrations lint --dir`): each file alone, with the types of the files before it.
    const folder = await lintFolder(
      ['0004_later.sql', '0003_narrow.sql', '0001_products.sql'].map((name) => join(dir, name)),
      { rules },
    );
    assert.deepEqual(
      folder.findings.map((finding) => [finding.rule, finding.path.slice(dir.length + 1)]),
      [['change-column-type', '0003_narrow.sql']],
    );
    assert.equal(folder.statements, 3);
    // Linted in one run with the file that creates the table: a new table has no old reader.
    assert.deepEqual(
      flagged(
        await lintFiles([join(dir, '0001_products.sql'), join(dir, '0003_narrow.sql')], { rules }),
      ),
      [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
