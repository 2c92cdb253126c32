import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { realpath } from 'node:fs/promises';
import { createCommandCheck } from './command-check.ts';

const SHADOW_URL = 'sqlite:/tmp/shadow-test.db';

void test('runs the command in the release folder with the shadow URL in both variables', async () => {
  const cwd = await realpath(tmpdir());
  const check = createCommandCheck({
    command:
      'echo "$PWD $CUTOVER_DATABASE_URL $SHOP_DB"; test "$SHOP_DB" = "$CUTOVER_DATABASE_URL"',
    cwd,
    urlEnv: 'SHOP_DB',
  });
  const outcome = await check(SHADOW_URL);
  assert.equal(outcome.passed, true);
  assert.equal(outcome.checks.length, 1);
  assert.equal(outcome.checks[0]?.passed, true);
  assert.equal(outcome.checks[0]?.detail, `${cwd} ${SHADOW_URL} ${SHADOW_URL}`);
  assert.match(outcome.checks[0]?.name ?? '', /^the compat command `echo/);
});

void test('a failing command fails the check with its exit code and the end of its output', async () => {
  const check = createCommandCheck({
    command:
      'echo "ok v2 GET /api/products"; echo "FAILED v2 POST /api/orders: status 500" >&2; exit 3',
    cwd: tmpdir(),
    urlEnv: 'DATABASE_URL',
  });
  const outcome = await check(SHADOW_URL);
  assert.equal(outcome.passed, false);
  assert.equal(
    outcome.checks[0]?.detail,
    'exit code 3: ok v2 GET /api/products\nFAILED v2 POST /api/orders: status 500',
  );
});

void test('a command that outlives its timeout is killed, with its children, and fails', async () => {
  const check = createCommandCheck({
    command: 'sleep 30 & sleep 30; echo never',
    cwd: tmpdir(),
    urlEnv: 'DATABASE_URL',
    timeoutMs: 200,
  });
  const started = performance.now();
  const outcome = await check(SHADOW_URL);
  assert.ok(performance.now() - started < 5_000, 'returned soon after the timeout');
  assert.equal(outcome.passed, false);
  assert.equal(outcome.checks[0]?.detail, 'timed out after 200 ms');
});
