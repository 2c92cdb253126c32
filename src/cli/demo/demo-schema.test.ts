import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentView } from '../../client/api-types.ts';
import { formatSchemaLines, shortFailure, toDemoSchema } from './demo-schema.ts';

void test('a failure line: no command text, cut after the exit code, then the FAILED line', () => {
  const failure =
    'live release v2 failed the compat command `SHOP_VERSION=v2 node ../app/compat-check.js` on the migrated shadow: exit code 1: ok v2 GET /api/products\n' +
    'FAILED v2 POST /api/orders: status 500, expected 201\nok v2 GET /api/orders';
  assert.equal(
    shortFailure(failure),
    'live release v2 failed the compat command on the migrated shadow: exit code 1: FAILED v2 POST /api/orders: status 500, expected 201',
  );
  // One line stays as it is, but for a command; an overlong one is cut with an ellipsis.
  assert.equal(
    shortFailure('step "smoke" failed: GET /api/products: status 500'),
    'step "smoke" failed: GET /api/products: status 500',
  );
  assert.equal(
    shortFailure('ran `make check`: exit code 2: no output'),
    'ran: exit code 2: no output',
  );
  const long = shortFailure(`x${'y'.repeat(500)}`);
  assert.equal(long.length, 300);
  // What cutover tells the user to run is kept.
  assert.equal(
    shortFailure('drift: accept it with `cutover deploy v7 --accept-drift env.X`'),
    'drift: accept it with `cutover deploy v7 --accept-drift env.X`',
  );
  assert.ok(long.endsWith('…'));
});

function view(report: DeploymentView['report']): DeploymentView {
  return { report } as DeploymentView;
}

void test('the schema of a deployment: none without a database, else findings by file name', () => {
  assert.equal(toDemoSchema(view({})), null);
  assert.equal(toDemoSchema(view({ schema: { skipped: 'no database', pending: [] } })), null);
  const schema = toDemoSchema(
    view({
      schema: {
        pending: ['0002_add_order_note.sql'],
        lint: { blocking: 0, findings: [] },
        shadow: {
          passed: true,
          createMs: 1,
          applyMs: 1,
          dropMs: 1,
          cutoverMs: 3.4,
          checksMs: 0,
          applied: ['0002_add_order_note.sql'],
          applyError: null,
          failures: [],
          live: { release: 'v1', passed: true },
          next: { release: 'v2', passed: true },
          notChecked: [],
          locks: [],
        },
      },
      migrate: { applied: ['0002_add_order_note.sql'], durationMs: 2 },
    }),
  );
  assert.ok(schema !== null);
  assert.deepEqual(formatSchemaLines(schema, '  '), [
    '  schema: pending 0002_add_order_note.sql; applied 0002_add_order_note.sql',
    "  shadow: passed (v1 passed, v2 passed), cutover's own time 3 ms",
  ]);
  // A migration that fails to apply on the shadow is a failure line too; a first release has
  // no live one to check.
  const broken = toDemoSchema(
    view({
      schema: {
        pending: ['0003_x.sql'],
        lint: {
          blocking: 0,
          findings: [
            {
              rule: 'enum-add-value',
              severity: 'warning',
              path: '/a/b/migrations/0003_x.sql',
              line: 2,
              message: 'old readers may not know the value',
              fix: 'f',
            },
          ],
        },
        shadow: {
          passed: false,
          createMs: 1,
          applyMs: 1,
          dropMs: 1,
          cutoverMs: 3,
          checksMs: 0,
          applied: [],
          applyError: '0003_x.sql: syntax error near "TABEL"',
          failures: [],
          live: null,
          next: { release: 'v3', passed: false },
          notChecked: [],
          locks: [],
        },
      },
    }),
  );
  assert.ok(broken !== null);
  assert.deepEqual(formatSchemaLines(broken, ''), [
    'schema: pending 0003_x.sql',
    'lint: warning enum-add-value at 0003_x.sql:2: old readers may not know the value',
    "shadow: failed (v3 FAILED), cutover's own time 3 ms",
    '  0003_x.sql: syntax error near "TABEL"',
  ]);
});
