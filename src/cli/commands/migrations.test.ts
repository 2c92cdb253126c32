// `cutover migrations lint` end to end through runCli: files and folders, formats, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../main.ts';

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

async function withApp(
  files: Record<string, string>,
  run: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-migrations-cli-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const CONFIG = 'app: shop\nstart: node server.js\n';

void test('no files: every *.sql of the configured folder, by name; exit 1 on a blocking finding', async () => {
  await withApp(
    {
      'cutover.yaml': `${CONFIG}migrations:\n  dir: db/\n`,
      'db/0002_rename.sql': 'ALTER TABLE orders RENAME COLUMN customer TO buyer;\n',
      'db/0001_init.sql': 'CREATE TABLE orders (id int, customer text);\n',
      'db/README.md': 'not a migration',
    },
    async (dir) => {
      const result = await cli(['migrations', 'lint', '--dir', dir]);
      assert.equal(result.code, 1, result.err);
      assert.match(result.out, /0002_rename\.sql:1 rename-column error: /);
      assert.match(result.out, /fix: Expand\/contract/);
      assert.match(
        result.out,
        /blocked: 1 error, 0 warnings, 0 suppressed findings in 2 statements/,
      );
    },
  );
});

void test('files given are one run: a table created by an earlier file is new for the next', async () => {
  await withApp(
    {
      'm/0001_init.sql': 'CREATE TABLE orders (id int, customer text);\n',
      'm/0002_rename.sql': 'ALTER TABLE orders RENAME COLUMN customer TO buyer;\n',
    },
    async (dir) => {
      const result = await cli([
        'migrations',
        'lint',
        join(dir, 'm/0002_rename.sql'),
        join(dir, 'm/0001_init.sql'),
      ]);
      assert.equal(result.code, 0, result.out);
      assert.match(result.out, /^ok: 0 errors/m);
    },
  );
});

void test('warnings only exit 0; --json and --format json print findings, suppressed, statements', async () => {
  await withApp(
    {
      'migrations/0001.sql':
        "ALTER TYPE status ADD VALUE 'held';\n-- cutover:ignore drop-table archived in v3\nDROP TABLE old_carts;\n",
    },
    async (dir) => {
      for (const argv of [
        ['--json', 'migrations', 'lint', '--dir', dir],
        ['migrations', 'lint', '--dir', dir, '--format', 'json'],
      ]) {
        const result = await cli(argv);
        assert.equal(result.code, 0, result.out);
        const parsed = JSON.parse(result.out) as {
          findings: { rule: string; severity: string }[];
          suppressed: { rule: string; reason: string }[];
          statements: number;
        };
        assert.deepEqual(
          parsed.findings.map((finding) => [finding.rule, finding.severity]),
          [['enum-add-value', 'warning']],
        );
        assert.deepEqual(
          parsed.suppressed.map((entry) => [entry.rule, entry.reason]),
          [['drop-table', 'archived in v3']],
        );
        assert.equal(parsed.statements, 2);
      }
    },
  );
});

void test('sarif output, and --json with another --format is a usage error', async () => {
  await withApp({ 'migrations/0001.sql': 'DROP TABLE carts;\n' }, async (dir) => {
    const sarif = await cli(['migrations', 'lint', '--dir', dir, '--format', 'sarif']);
    assert.equal(sarif.code, 1);
    const log = JSON.parse(sarif.out) as { version: string; runs: { results: unknown[] }[] };
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs[0]?.results.length, 1);
    const both = await cli(['--json', 'migrations', 'lint', '--dir', dir, '--format', 'sarif']);
    assert.equal(both.code, 2);
    assert.match(both.out, /CUTOVER_ERR_USAGE/);
  });
});

void test('tool errors exit 2: a parse error, a missing file, a missing folder', async () => {
  await withApp(
    { 'migrations/0001.sql': 'CREATE TABLE t (id int);\nALTER TABLE t ADDD COLUMN x int;\n' },
    async (dir) => {
      const parse = await cli(['migrations', 'lint', '--dir', dir]);
      assert.equal(parse.code, 2);
      assert.match(
        parse.err,
        /0001\.sql:2: syntax error at or near "ADDD".*CUTOVER_ERR_MIGRATION_PARSE/,
      );
      const missing = await cli(['migrations', 'lint', join(dir, 'nope.sql')]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /nope\.sql: no such file.*CUTOVER_ERR_MIGRATION_READ/);
      const folder = await cli(['migrations', 'lint', '--dir', join(dir, 'migrations')]);
      assert.equal(folder.code, 2);
      assert.match(folder.err, /no such folder.*CUTOVER_ERR_MIGRATION_READ/);
    },
  );
});

void test('the dialect comes from database.url; --dialect overrides it', async () => {
  const sqlite = 'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);\n';
  await withApp(
    {
      'cutover.yaml': `${CONFIG}database:\n  url: sqlite:data/app.db\n`,
      'migrations/0001.sql': sqlite,
    },
    async (dir) => {
      assert.equal((await cli(['migrations', 'lint', '--dir', dir])).code, 0);
      const postgres = await cli(['migrations', 'lint', '--dir', dir, '--dialect', 'postgres']);
      assert.equal(postgres.code, 2);
      assert.match(postgres.err, /CUTOVER_ERR_MIGRATION_PARSE/);
    },
  );
});

void test('a database.url from an env var gives the dialect when the variable is set', async () => {
  const name = `CUTOVER_TEST_LINT_DB_${process.pid}`;
  await withApp(
    {
      'cutover.yaml': `${CONFIG}database:\n  url: { fromEnv: ${name} }\n`,
      'migrations/0001.sql': 'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);\n',
    },
    async (dir) => {
      assert.equal((await cli(['migrations', 'lint', '--dir', dir])).code, 2);
      process.env[name] = 'sqlite:data/app.db';
      try {
        assert.equal((await cli(['migrations', 'lint', '--dir', dir])).code, 0);
      } finally {
        delete process.env[name];
      }
    },
  );
});
