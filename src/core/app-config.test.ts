import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closestKey, formatField, parseDurationMs, validateAppConfig } from './app-config.ts';
import type { AppConfig, AppConfigIssue } from './app-config.ts';

/** The minimal file of issue 3, as the YAML parser hands it over. */
const MINIMAL = {
  app: 'shop',
  start: 'node server.js',
  instances: 2,
  health: { path: '/healthz' },
  smoke: [{ path: '/', status: 200 }],
};

function valid(input: unknown): AppConfig {
  const result = validateAppConfig(input);
  if (!result.ok) assert.fail(JSON.stringify(result.issues));
  return result.config;
}

function issues(input: unknown): readonly AppConfigIssue[] {
  const result = validateAppConfig(input);
  assert.equal(result.ok, false, 'expected the input to be refused');
  return result.ok ? [] : result.issues;
}

void test('the minimal example parses exactly to the documented defaults', () => {
  const expected: AppConfig = {
    app: 'shop',
    hosts: [],
    runtime: 'process',
    start: 'node server.js',
    cwd: '.',
    instances: 2,
    env: {},
    stop: { signal: 'SIGTERM', timeoutMs: 10_000 },
    health: {
      path: '/healthz',
      intervalMs: 1_000,
      timeoutMs: 2_000,
      rise: 2,
      fall: 3,
      startTimeoutMs: 30_000,
    },
    smoke: [
      {
        kind: 'http',
        path: '/',
        method: 'GET',
        status: 200,
        bodyContains: null,
        json: {},
        timeoutMs: 5_000,
      },
    ],
    warmup: { requests: 0, durationMs: 0, paths: ['/'], concurrency: 4 },
    switch: {
      drainTimeoutMs: 30_000,
      websocketGraceMs: 10_000,
      probeWindowMs: 30_000,
      probeIntervalMs: 1_000,
      probePaths: ['/healthz'],
      failureThreshold: 0.01,
      autoRollback: true,
    },
    standby: { rollbackWindowMs: 600_000, after: 'stop' },
    rtoMs: 1_000,
    database: null,
    migrations: {
      dir: 'migrations/',
      lockTimeoutMs: 5_000,
      statementTimeoutMs: 60_000,
      retries: 3,
      contract: 'auto',
      compat: { command: null, smoke: true },
    },
    strategy: 'bluegreen',
    canary: {
      steps: [
        { percent: 5, pauseMs: 60_000 },
        { percent: 25, pauseMs: 60_000 },
        { percent: 50, pauseMs: 60_000 },
      ],
      analysis: {
        minRequests: 50,
        maxErrorRate: 0.01,
        maxErrorRateIncrease: 0.005,
        maxP99Ms: null,
        maxP99Ratio: null,
        maxWaitMs: 300_000,
      },
      sticky: true,
      allow: { header: null, cookie: null },
      checks: [],
    },
    rolling: { batch: 1, pauseMs: 10_000 },
    mirror: { enabled: false, maxPerSecond: 50, maxBodyBytes: 65_536 },
    drift: { expect: [], files: [], intervalMs: 60_000, enforce: true },
  };
  assert.deepEqual(valid(MINIMAL), expected);
});

void test('every key takes a value other than its default', () => {
  const config = valid({
    app: 'shop-2',
    hosts: ['shop.example.com', 'www.shop.example.com'],
    runtime: 'process',
    start: 'node server.js --prod',
    cwd: 'app',
    instances: 3,
    env: {
      NODE_ENV: 'production',
      WORKERS: 4,
      DEBUG: false,
      DB_PASSWORD: { fromEnv: 'SHOP_DB_PASSWORD' },
      API_KEY: { fromFile: '/etc/shop/api-key' },
    },
    stop: { signal: 'SIGINT', timeout: '20s' },
    health: { path: '/up', interval: '500ms', timeout: '1s', rise: 3, fall: 2, startTimeout: '2m' },
    smoke: [
      {
        path: '/api/version',
        method: 'POST',
        status: 201,
        bodyContains: 'ok',
        json: { 'data.version': '2', ready: true },
        timeout: '3s',
      },
      { command: './smoke.sh', timeout: '90s' },
    ],
    warmup: { duration: '10s', paths: ['/', '/cart'], concurrency: 8 },
    switch: {
      drainTimeout: '1m',
      websocketGrace: 0,
      probeWindow: '45s',
      probeInterval: 250,
      probePaths: ['/', '/api/health'],
      failureThreshold: '5%',
      autoRollback: false,
    },
    standby: { rollbackWindow: '1h', after: 'keep' },
    rto: '500ms',
    database: { url: { fromEnv: 'SHOP_DATABASE_URL' }, env: 'SHOP_DB' },
    migrations: {
      dir: 'db/migrations',
      lockTimeout: '2s',
      statementTimeout: 0,
      retries: 5,
      contract: 'manual',
      compat: { command: 'npm test', smoke: false },
    },
  });
  assert.deepEqual(config.hosts, ['shop.example.com', 'www.shop.example.com']);
  assert.deepEqual(config.env, {
    NODE_ENV: { kind: 'value', value: 'production' },
    WORKERS: { kind: 'value', value: '4' },
    DEBUG: { kind: 'value', value: 'false' },
    DB_PASSWORD: { kind: 'fromEnv', name: 'SHOP_DB_PASSWORD' },
    API_KEY: { kind: 'fromFile', path: '/etc/shop/api-key' },
  });
  assert.deepEqual(config.stop, { signal: 'SIGINT', timeoutMs: 20_000 });
  assert.deepEqual(config.health, {
    path: '/up',
    intervalMs: 500,
    timeoutMs: 1_000,
    rise: 3,
    fall: 2,
    startTimeoutMs: 120_000,
  });
  assert.deepEqual(config.smoke, [
    {
      kind: 'http',
      path: '/api/version',
      method: 'POST',
      status: 201,
      bodyContains: 'ok',
      json: { 'data.version': '2', ready: true },
      timeoutMs: 3_000,
    },
    { kind: 'command', command: './smoke.sh', timeoutMs: 90_000 },
  ]);
  assert.deepEqual(config.warmup, {
    requests: 0,
    durationMs: 10_000,
    paths: ['/', '/cart'],
    concurrency: 8,
  });
  assert.deepEqual(config.switch, {
    drainTimeoutMs: 60_000,
    websocketGraceMs: 0,
    probeWindowMs: 45_000,
    probeIntervalMs: 250,
    probePaths: ['/', '/api/health'],
    failureThreshold: 0.05,
    autoRollback: false,
  });
  assert.deepEqual(config.standby, { rollbackWindowMs: 3_600_000, after: 'keep' });
  assert.equal(config.rtoMs, 500);
  assert.deepEqual(config.database, {
    url: { kind: 'fromEnv', name: 'SHOP_DATABASE_URL' },
    env: 'SHOP_DB',
  });
  assert.deepEqual(config.migrations, {
    dir: 'db/migrations',
    lockTimeoutMs: 2_000,
    statementTimeoutMs: 0,
    retries: 5,
    contract: 'manual',
    compat: { command: 'npm test', smoke: false },
  });
  assert.equal(config.cwd, 'app');
  assert.equal(config.instances, 3);
});

void test('the external runtime needs no start command', () => {
  const config = valid({ app: 'shop', runtime: 'external' });
  assert.equal(config.runtime, 'external');
  assert.equal(config.start, null);
});

void test('a missing app and start are both reported, as missing', () => {
  const found = issues({ instances: 2 });
  assert.deepEqual(
    found.map((issue) => [issue.field, issue.kind]),
    [
      ['app', 'missing'],
      ['start', 'missing'],
    ],
  );
});

void test('all issues are listed, each with its path', () => {
  const found = issues({
    ...MINIMAL,
    instances: 0,
    health: { path: 'healthz', rise: 'two' },
    smoke: [{ status: 200 }],
  });
  assert.deepEqual(
    found.map((issue) => issue.field),
    ['instances', 'health.path', 'health.rise', 'smoke[0].path'],
  );
});

void test('an unknown key is refused with the key it probably meant', () => {
  const [typo] = issues({ ...MINIMAL, helth: { path: '/' } });
  assert.deepEqual(typo?.path, ['helth']);
  assert.equal(typo?.kind, 'unknown');
  assert.match(typo?.message ?? '', /did you mean "health"\?/);
  const [far] = issues({ ...MINIMAL, stop: { grace: '1s' } });
  assert.match(far?.message ?? '', /expected one of signal, timeout/);
});

void test('warm-up takes requests or a duration, not both', () => {
  const [both] = issues({ ...MINIMAL, warmup: { requests: 10, duration: '5s' } });
  assert.equal(both?.field, 'warmup.duration');
  assert.match(both?.message ?? '', /requests or duration, not both/);
});

void test('a command check refuses HTTP fields', () => {
  const [mixed] = issues({ ...MINIMAL, smoke: [{ command: './check.sh', status: 200 }] });
  assert.equal(mixed?.field, 'smoke[0].status');
});

void test('PORT cannot be set: each instance gets its own', () => {
  const [port] = issues({ ...MINIMAL, env: { PORT: '3000' } });
  assert.equal(port?.field, 'env.PORT');
  assert.match(port?.message ?? '', /PORT is set by cutover/);
});

void test('durations: units or whole milliseconds, never negative, zero or beyond a day', () => {
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('30s'), 30_000);
  assert.equal(parseDurationMs('1.5s'), 1_500);
  assert.equal(parseDurationMs('2m'), 120_000);
  assert.equal(parseDurationMs(' 1h '), 3_600_000);
  assert.equal(parseDurationMs(2_500), 2_500);
  for (const bad of ['30', 'soon', '-1s', '3x', -5, 1.5, true, null]) {
    assert.equal(parseDurationMs(bad), undefined, String(bad));
  }
  assert.match(issues({ ...MINIMAL, rto: '0s' })[0]?.message ?? '', /longer than 0/);
  assert.match(issues({ ...MINIMAL, rto: '25h' })[0]?.message ?? '', /at most 24h/);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 86_400_000 }), (ms) => {
      assert.equal(parseDurationMs(`${ms}ms`), ms);
      assert.equal(parseDurationMs(ms), ms);
    }),
  );
});

void test('the failure threshold is a fraction or a percentage', () => {
  assert.equal(
    valid({ ...MINIMAL, switch: { failureThreshold: 0.2 } }).switch.failureThreshold,
    0.2,
  );
  assert.equal(
    valid({ ...MINIMAL, switch: { failureThreshold: '2.5%' } }).switch.failureThreshold,
    0.025,
  );
  assert.equal(
    issues({ ...MINIMAL, switch: { failureThreshold: 5 } })[0]?.field,
    'switch.failureThreshold',
  );
});

void test('closestKey and formatField', () => {
  assert.equal(closestKey('instance', ['instances', 'start']), 'instances');
  assert.equal(closestKey('Start', ['instances', 'start']), 'start');
  assert.equal(closestKey('zzz', ['instances', 'start']), undefined);
  assert.equal(formatField(['smoke', 2, 'json']), 'smoke[2].json');
  assert.equal(formatField([]), '(top level)');
});

void test('an empty section (YAML null) means all its defaults; host names are lower-cased', () => {
  const empty = valid({
    ...MINIMAL,
    hosts: null,
    env: null,
    stop: null,
    warmup: null,
    switch: null,
    standby: null,
    migrations: null,
  });
  assert.deepEqual(empty, valid(MINIMAL));
  assert.deepEqual(valid({ ...MINIMAL, hosts: [' Shop.Example.COM'] }).hosts, ['shop.example.com']);
  assert.equal(issues({ ...MINIMAL, hosts: ['shop example'] })[0]?.field, 'hosts[0]');
});

void test('database: a literal URL names its dialect; env defaults to DATABASE_URL', () => {
  assert.deepEqual(valid({ ...MINIMAL, database: { url: 'postgres://app@db/shop' } }).database, {
    url: { kind: 'value', value: 'postgres://app@db/shop' },
    env: 'DATABASE_URL',
  });
  assert.deepEqual(valid({ ...MINIMAL, database: { url: 'sqlite:data/shop.db' } }).database?.url, {
    kind: 'value',
    value: 'sqlite:data/shop.db',
  });
  assert.deepEqual(
    valid({ ...MINIMAL, database: { url: { fromFile: '/run/secrets/db-url' } } }).database?.url,
    { kind: 'fromFile', path: '/run/secrets/db-url' },
  );
  assert.equal(valid({ ...MINIMAL, database: null }).database, null);
});

void test('database: a bad URL, a missing URL and a clash with env are refused by field', () => {
  const bad = issues({ ...MINIMAL, database: { url: 'mysql://user:s3cret@db/shop' } });
  assert.equal(bad[0]?.field, 'database.url');
  assert.match(bad[0]?.message ?? '', /expected postgres:\/\//);
  assert.ok(!JSON.stringify(bad).includes('s3cret'), 'the URL is never echoed');
  const missing = issues({ ...MINIMAL, database: { env: 'DB_URL' } });
  assert.deepEqual(
    missing.map((issue) => [issue.field, issue.kind]),
    [['database.url', 'missing']],
  );
  assert.equal(
    issues({ ...MINIMAL, database: { url: 'sqlite:a.db', env: 'PORT' } })[0]?.field,
    'database.env',
  );
  const clash = issues({
    ...MINIMAL,
    env: { DATABASE_URL: 'postgres://x/y' },
    database: { url: 'postgres://db/shop' },
  });
  assert.equal(clash[0]?.field, 'env.DATABASE_URL');
  assert.match(clash[0]?.message ?? '', /database\.url/);
});

void test('migrations: retries, timeouts and compat are checked; typos get a suggestion', () => {
  assert.equal(issues({ ...MINIMAL, migrations: { retries: 11 } })[0]?.field, 'migrations.retries');
  assert.equal(
    issues({ ...MINIMAL, migrations: { lockTimeout: 0 } })[0]?.field,
    'migrations.lockTimeout',
  );
  assert.equal(
    issues({ ...MINIMAL, migrations: { compat: { smoke: 'yes' } } })[0]?.field,
    'migrations.compat.smoke',
  );
  const typo = issues({ ...MINIMAL, migrations: { compat: { comand: 'npm test' } } });
  assert.equal(typo[0]?.field, 'migrations.compat.comand');
  assert.match(typo[0]?.message ?? '', /did you mean "command"/);
  assert.deepEqual(valid({ ...MINIMAL, migrations: { compat: null } }).migrations.compat, {
    command: null,
    smoke: true,
  });
});

void test('the strategy sections parse shares, steps and testers', () => {
  const config = valid({
    app: 'shop',
    start: 'node server.js',
    strategy: 'canary',
    canary: {
      steps: [{ weight: '0.5%', pause: '10s' }, { weight: 50 }],
      analysis: { maxP99: '800ms', maxP99Ratio: 1.5, maxErrorRate: '2%' },
      allow: { header: { name: 'X-Canary', value: 'always' } },
    },
    rolling: { batch: 2, pause: 0 },
    drift: { expect: ['env.APP_VERSION'], files: ['config/app.json'], interval: 0 },
  });
  assert.equal(config.strategy, 'canary');
  assert.deepEqual(config.canary.steps, [
    { percent: 0.5, pauseMs: 10_000 },
    { percent: 50, pauseMs: 60_000 },
  ]);
  assert.equal(config.canary.analysis.maxP99Ms, 800);
  assert.equal(config.canary.analysis.maxP99Ratio, 1.5);
  assert.equal(config.canary.analysis.maxErrorRate, 0.02);
  assert.deepEqual(config.canary.allow.header, { name: 'X-Canary', value: 'always' });
  assert.deepEqual(config.rolling, { batch: 2, pauseMs: 0 });
  assert.deepEqual(config.drift.files, ['config/app.json']);
  assert.equal(config.drift.intervalMs, 0);
});

void test('a share of traffic that is not one is refused by field', () => {
  for (const weight of ['0%', '101%', '5.555%', 'five', -1]) {
    const found = issues({
      app: 'shop',
      start: 'node server.js',
      canary: { steps: [{ weight }] },
    });
    assert.equal(found[0]?.field, 'canary.steps[0].weight', String(weight));
    assert.match(found[0]?.message ?? '', /share of traffic like 5%/);
  }
  const strategy = issues({ app: 'shop', start: 'node server.js', strategy: 'blue-green' });
  assert.match(strategy[0]?.message ?? '', /bluegreen, canary, rolling/);
});
