import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCutoverError } from '../core/errors.ts';
import { loadAppConfigFromDir, parseAppConfigText } from './load-app-config.ts';

/** The minimal file of issue 3, exactly as written there. */
const MINIMAL = `app: shop
start: node server.js   # process runtime; each instance gets its own PORT
instances: 2
health:
  path: /healthz
smoke:
  - path: /
    status: 200
`;

/** Runs `run`, expecting CUTOVER_ERR_CONFIG_INVALID; returns its message lines. */
function refusal(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(isCutoverError(error), String(error));
    assert.equal(error.code, 'CUTOVER_ERR_CONFIG_INVALID');
    return error.message.split('\n');
  }
  return assert.fail('expected the config to be refused');
}

void test('the minimal example of the issue loads as written', () => {
  const config = parseAppConfigText(MINIMAL);
  assert.equal(config.app, 'shop');
  assert.equal(config.start, 'node server.js');
  assert.equal(config.instances, 2);
  assert.equal(config.health.path, '/healthz');
  assert.deepEqual(config.switch.probePaths, ['/healthz']);
});

// One refused value per key: [yaml appended to the minimal file (line 9 on), the message].
const APPENDED: readonly (readonly [string, RegExp])[] = [
  ['hosts: [Shop Example]', /hosts\[0\]: expected a host name like shop\.example\.com/],
  ['runtime: docker', /runtime: expected process or external, got "docker"/],
  ['cwd: ""', /cwd: expected a directory path/],
  ['env: [A]', /env: expected a mapping of env var names to values$/],
  ['env:\n  1X: a', /env\.1X: expected env var names of letters/],
  ['env:\n  X: [a]', /env\.X: expected a value, \{ fromEnv: NAME \} or \{ fromFile: PATH \}$/],
  ['env:\n  X: { fromEnv: "bad name" }', /env\.X: expected a value, \{ fromEnv/],
  ['env:\n  X: { fromFile: "" }', /env\.X: expected a value/],
  ['stop:\n  signal: SIGKILL', /stop\.signal: expected one of SIGTERM, .*, got "SIGKILL"/],
  ['stop:\n  timeout: 10', /^$/],
  ['stop:\n  timeout: ten', /stop\.timeout: expected a duration like 500ms, 30s or 2m.*got "ten"/],
  [
    'warmup:\n  requests: -1',
    /warmup\.requests: expected a whole number from 0 to 1000000, got -1/,
  ],
  ['warmup:\n  duration: 5', /^$/],
  ['warmup:\n  duration: forever', /warmup\.duration: expected a duration/],
  ['warmup:\n  paths: /', /warmup\.paths: expected a list of URL paths, got "\/"/],
  ['warmup:\n  paths: []', /warmup\.paths: expected at least one URL path/],
  [
    'warmup:\n  concurrency: 0',
    /warmup\.concurrency: expected a whole number from 1 to 256, got 0/,
  ],
  ['switch:\n  drainTimeout: 0s', /switch\.drainTimeout: .*longer than 0, got "0s"/],
  ['switch:\n  websocketGrace: 1d', /switch\.websocketGrace: expected a duration/],
  ['switch:\n  probeWindow: "-1s"', /switch\.probeWindow: expected a duration/],
  ['switch:\n  probeInterval: 1.5', /switch\.probeInterval: expected a duration.*got 1\.5/],
  ['switch:\n  probePaths: [healthz]', /switch\.probePaths\[0\]: expected a URL path/],
  ['switch:\n  failureThreshold: 150%', /switch\.failureThreshold: expected a fraction/],
  ['switch:\n  autoRollback: "yes"', /switch\.autoRollback: expected true or false, got "yes"/],
  ['standby:\n  rollbackWindow: 2d', /standby\.rollbackWindow: expected a duration/],
  ['standby:\n  after: delete', /standby\.after: expected keep or stop, got "delete"/],
  ['rto: fast', /rto: expected a duration.*got "fast"/],
  ['migrations:\n  dir: 7', /migrations\.dir: expected a directory path, got 7/],
  ['migrations: db', /migrations: expected a mapping of migrations settings, got "db"/],
];

void test('every top-level key and section key is refused naming the file, line and field', () => {
  for (const [appended, message] of APPENDED) {
    const text = `${MINIMAL}${appended}\n`;
    if (message.source === '^$') {
      // A bare number is a duration in milliseconds: accepted.
      assert.doesNotThrow(() => parseAppConfigText(text), appended);
      continue;
    }
    const lines = refusal(() => parseAppConfigText(text));
    assert.equal(lines.length, 1, lines.join('\n'));
    const line = lines[0] ?? '';
    const expectedLine = 9 + appended.split('\n').length - 1;
    assert.ok(line.startsWith(`cutover.yaml:${expectedLine}: `), `${appended}: ${line}`);
    assert.match(line, message, appended);
  }
});

// Keys of the minimal file itself, and of health and smoke: the whole file, and the line.
const WHOLE_FILES: readonly (readonly [string, number, RegExp])[] = [
  ['app: Shop!\nstart: x\n', 1, /app: expected an app name.*got "Shop!"/],
  ['app: shop\nstart: [node]\n', 2, /start: expected the command that starts one instance/],
  ['app: shop\n', 1, /start: missing; the process runtime needs the command/],
  ['start: x\n', 1, /app: missing; expected an app name/],
  [
    'app: shop\nstart: x\ninstances: 0\n',
    3,
    /instances: expected a whole number from 1 to 64, got 0/,
  ],
  ['app: shop\nstart: x\ninstances: two\n', 3, /instances: .*got "two"/],
  ['app: shop\nstart: x\nhealth: /healthz\n', 3, /health: expected a mapping of health settings/],
  ['app: shop\nstart: x\nhealth:\n  path: healthz\n', 4, /health\.path: expected a URL path/],
  [
    'app: shop\nstart: x\nhealth:\n  interval: 1\n  timeout: soon\n',
    5,
    /health\.timeout: expected a duration/,
  ],
  ['app: shop\nstart: x\nhealth:\n  interval: 1x\n', 4, /health\.interval: expected a duration/],
  [
    'app: shop\nstart: x\nhealth:\n  rise: two\n',
    4,
    /health\.rise: expected a whole number from 1 to 100, got "two"/,
  ],
  ['app: shop\nstart: x\nhealth:\n  fall: 0\n', 4, /health\.fall: expected a whole number/],
  ['app: shop\nstart: x\nhealth:\n  startTimeout: 0\n', 4, /health\.startTimeout: .*longer than 0/],
  [
    'app: shop\nstart: x\nsmoke:\n  path: /\n',
    4,
    /smoke: expected a list of checks, got a mapping/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - status: 200\n',
    4,
    /smoke\[0\]\.path: missing; expected a path \(an HTTP check\) or a command/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    method: FETCH\n',
    5,
    /smoke\[0\]\.method: expected one of GET, .*got "FETCH"/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    status: 99\n',
    5,
    /smoke\[0\]\.status: expected a whole number from 100 to 599, got 99/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    bodyContains: [a]\n',
    5,
    /smoke\[0\]\.bodyContains: expected a string/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    json: ok\n',
    5,
    /smoke\[0\]\.json: expected a mapping of JSON field paths/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    json:\n      a: [1]\n',
    6,
    /smoke\[0\]\.json\.a: expected a string, number, true, false or null/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - command: ""\n',
    4,
    /smoke\[0\]\.command: expected a shell command/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - command: ./s.sh\n    status: 200\n',
    5,
    /smoke\[0\]\.status: a command check takes no HTTP fields/,
  ],
  [
    'app: shop\nstart: x\nsmoke:\n  - path: /\n    timeout: 0\n',
    5,
    /smoke\[0\]\.timeout: .*longer than 0/,
  ],
  [
    'app: shop\nstart: x\nwarmup:\n  requests: 10\n  duration: 5s\n',
    5,
    /warmup\.duration: expected requests or duration, not both/,
  ],
  [
    'app: shop\nstart: x\nenv:\n  PORT: 3000\n',
    4,
    /env\.PORT: PORT is set by cutover for each instance; remove it$/,
  ],
];

void test('keys of the minimal file, health and smoke are refused naming the line', () => {
  for (const [text, line, message] of WHOLE_FILES) {
    const lines = refusal(() => parseAppConfigText(text));
    assert.equal(lines.length, 1, `${text}: ${lines.join('\n')}`);
    assert.ok(lines[0]?.startsWith(`cutover.yaml:${line}: `), `${text}: ${lines[0]}`);
    assert.match(lines[0] ?? '', message, text);
  }
});

void test('every problem is listed, in line order, and unknown keys get a "did you mean"', () => {
  const lines = refusal(() =>
    parseAppConfigText(
      'app: shop\nstart: x\nswich:\n  autoRollback: false\nhealth:\n  rize: 3\n  rise: two\nsmoke:\n  - path: /\n    stauts: 200\nfoo: 1\n',
      'shop/cutover.yaml',
    ),
  );
  assert.deepEqual(lines, [
    'shop/cutover.yaml:3: swich: unknown key; did you mean "switch"?',
    'shop/cutover.yaml:6: health.rize: unknown key; did you mean "rise"?',
    'shop/cutover.yaml:7: health.rise: expected a whole number from 1 to 100, got "two"',
    'shop/cutover.yaml:10: smoke[0].stauts: unknown key; did you mean "status"?',
    `shop/cutover.yaml:11: foo: unknown key; expected one of app, hosts, runtime, start, cwd, instances, env, stop, health, smoke, warmup, switch, standby, rto, database, migrations, strategy, canary, rolling, mirror, drift`,
  ]);
});

void test('env values are never echoed in a refusal: they may be secrets', () => {
  const lines = refusal(() =>
    parseAppConfigText('app: shop\nstart: x\nenv:\n  TOKEN: [s3cr3t-value]\n'),
  );
  assert.ok(!lines.join('\n').includes('s3cr3t'), lines.join('\n'));
});

void test('YAML syntax errors, duplicate keys and an empty file name the line', () => {
  assert.match(
    refusal(() => parseAppConfigText('app: shop\nstart: x\napp: other\n'))[0] ?? '',
    /^cutover\.yaml:3: \(yaml\): not valid YAML: Map keys must be unique$/,
  );
  assert.match(
    refusal(() => parseAppConfigText('app: shop\nhealth:\n  path: [/\n'))[0] ?? '',
    /^cutover\.yaml:\d+: \(yaml\): not valid YAML: /,
  );
  assert.deepEqual(
    refusal(() => parseAppConfigText('# nothing yet\n')),
    ['cutover.yaml:1: (top level): the file is empty; start it with app: NAME'],
  );
  assert.match(
    refusal(() => parseAppConfigText('- app: shop\n'))[0] ?? '',
    /^cutover\.yaml:1: \(top level\): expected a mapping of settings.*got a list$/,
  );
});

void test('loads DIR/cutover.yaml; a missing file says to run cutover init', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
  try {
    await assert.rejects(loadAppConfigFromDir(dir), (error: Error) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'CUTOVER_ERR_CONFIG_INVALID');
      assert.match(error.message, /cutover\.yaml not found: run `cutover init`/);
      return true;
    });
    await writeFile(join(dir, 'cutover.yaml'), MINIMAL);
    assert.equal((await loadAppConfigFromDir(dir)).app, 'shop');
    await writeFile(join(dir, 'cutover.yaml'), 'app: shop\nstart: x\ninstances: 99\n');
    await assert.rejects(loadAppConfigFromDir(dir), /cutover\.yaml:3: instances: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
