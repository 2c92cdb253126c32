// The CLI without a daemon: usage errors exit 2, an unreachable daemon exits 1 and says how to
// start one, help and version exit 0. Run as users run it: `node bin/cutover.js ...`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CUTOVER_BIN = fileURLToPath(new URL('../../bin/cutover.js', import.meta.url));

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cutover(
  args: readonly string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliRun> {
  const cleanEnv = { ...process.env };
  delete cleanEnv.CUTOVER_DATA_DIR;
  delete cleanEnv.CUTOVER_ADMIN_URL;
  delete cleanEnv.CUTOVER_ADMIN_TOKEN;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { env: { ...cleanEnv, ...env }, timeout: 30_000, ...(cwd === undefined ? {} : { cwd }) },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

async function withEmptyDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-cli-empty-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('no daemon: exit 1, CUTOVER_ERR_DAEMON_UNREACHABLE, the socket tried and how to start one', async () => {
  await withEmptyDir(async (dir) => {
    const human = await cutover(['status', '--data-dir', dir]);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, '');
    assert.ok(human.stderr.includes(join(dir, 'admin.sock')), human.stderr);
    assert.match(
      human.stderr,
      /^cutover: .*`cutover daemon --data-dir .*\(CUTOVER_ERR_DAEMON_UNREACHABLE\)\n$/,
    );
  });
});

void test('no daemon with --json and CUTOVER_DATA_DIR: the error shape on stdout', async () => {
  await withEmptyDir(async (dir) => {
    const run = await cutover(['flip', 'shop', '--json'], { CUTOVER_DATA_DIR: dir });
    assert.equal(run.code, 1);
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
    assert.equal(body.error.code, 'CUTOVER_ERR_DAEMON_UNREACHABLE');
    assert.ok(body.error.message.includes(dir));
  });
});

void test('an admin URL nobody listens on is unreachable too', async () => {
  const run = await cutover([
    'status',
    '--admin-url',
    'http://127.0.0.1:1',
    '--admin-token',
    'x'.repeat(20),
  ]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /http:\/\/127\.0\.0\.1:1.*\(CUTOVER_ERR_DAEMON_UNREACHABLE\)/);
});

void test('usage errors exit 2 naming what was wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['deploy', 'v1', '--instances', 'a:1'], /required option '--app <name>' not specified/],
    [['deploy', 'v1', '--app', 'shop', '--instances', 'a:1', '--no-wait'], /--no-wait applies to/],
    [
      ['deploy', 'v1', '--app', 'shop', '--instances', 'localhost'],
      /--instances: "localhost" is not host:port/,
    ],
    [
      ['deploy', 'v1', '--app', 'shop', '--instances', 'a:1', '--health-timeout', 'soon'],
      /--health-timeout "soon" is not a duration/,
    ],
    [
      ['deploy', 'v1', '--app', 'shop', '--instances', 'a:1', '--hosts', 'http://x'],
      /--hosts: "http:\/\/x" is not a host name/,
    ],
    [['flip'], /missing required argument 'app'/],
    [['flip', 'shop', '--to', 'red'], /'--to <color>' argument 'red' is invalid/],
    [['history', '--limit', 'lots'], /--limit must be a whole number/],
    [['launch'], /unknown command 'launch'/],
    [['abort', 'shop', '--reason', ' '], /--reason must be 1 to 500 characters/],
    [['drill', 'shop', '--objective', '5'], /--objective "5" needs a unit: write 5s/],
    [['history', '--deployments', '--limit', '0'], /--limit must be a whole number/],
    [['status', '--verbose'], /unknown option '--verbose'/],
  ];
  for (const [args, message] of cases) {
    const run = await cutover(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.match(run.stderr, /\(CUTOVER_ERR_USAGE\)\n$/);
    const asJson = await cutover([...args, '--json']);
    assert.equal(asJson.code, 2);
    assert.equal(
      (JSON.parse(asJson.stdout) as { error: { code: string } }).error.code,
      'CUTOVER_ERR_USAGE',
    );
  }
});

void test('help lists every command, daemon included; help and version exit 0', async () => {
  const help = await cutover(['--help']);
  assert.equal(help.code, 0);
  for (const command of [
    'deploy',
    'flip',
    'rollback',
    'abort',
    'drill',
    'status',
    'history',
    'demo',
    'daemon',
  ]) {
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), command);
  }
  const version = await cutover(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

void test('deploy without --instances reads cutover.yaml: a missing one is named, exit 2', async () => {
  await withEmptyDir(async (dir) => {
    for (const [args, cwd] of [
      [['deploy', 'v1', '--dir', dir], undefined],
      [['deploy', 'v1', '--app', 'shop'], dir],
    ] as const) {
      const run = await cutover([...args, '--data-dir', dir], {}, cwd);
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.includes(`${join(dir, 'cutover.yaml')} not found`), run.stderr);
      assert.match(
        run.stderr,
        /--dir.*`cutover init`.*--instances.*\(CUTOVER_ERR_CONFIG_INVALID\)\n$/,
      );
    }
  });
});

void test('an invalid cutover.yaml is refused with its line and field before reaching a daemon', async () => {
  await withEmptyDir(async (dir) => {
    await writeFile(
      join(dir, 'cutover.yaml'),
      'app: shop\nstart: node server.js\ninstances: two\n',
    );
    const run = await cutover(['deploy', 'v1', '--dir', dir, '--data-dir', dir]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /cutover\.yaml:3: instances: /);
    assert.match(run.stderr, /\(CUTOVER_ERR_CONFIG_INVALID\)\n$/);
    const json = await cutover(['deploy', 'v1', '--dir', dir, '--data-dir', dir, '--json']);
    assert.equal(json.code, 2);
    assert.equal(
      (JSON.parse(json.stdout) as { error: { code: string } }).error.code,
      'CUTOVER_ERR_CONFIG_INVALID',
    );
  });
});

void test('deploy --dir with a flag that belongs in cutover.yaml is a usage error', async () => {
  await withEmptyDir(async (dir) => {
    await writeFile(join(dir, 'cutover.yaml'), 'app: shop\nruntime: external\n');
    const cases: [string[], RegExp][] = [
      [['--app', 'cart'], /--app "cart" does not match app: shop/],
      [['--hosts', 'shop.example'], /--hosts applies to a deploy of --instances without --dir/],
      [[], /says runtime: external: pass the running instances with --instances/],
    ];
    for (const [flags, message] of cases) {
      const run = await cutover(['deploy', 'v1', '--dir', dir, ...flags, '--data-dir', dir]);
      assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /\(CUTOVER_ERR_USAGE\)\n$/);
    }
  });
});
