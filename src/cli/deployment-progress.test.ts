import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeploymentProgress } from './deployment-progress.ts';
import { DEPLOYMENT_T0, step, view } from '../../test/helpers/deployment-views.ts';

const T0 = Date.parse(DEPLOYMENT_T0);
const CLEAR = '\r\x1b[2K';

function capture(): { write: (text: string) => void; text: () => string } {
  let out = '';
  return { write: (chunk) => (out += chunk), text: () => out };
}

const STARTING = view({
  step: 'starting',
  waitingFor: '1 of 2 instances healthy',
  steps: [step('resolving', 0, 100), step('starting', 100, null)],
});
const SMOKE = view({
  step: 'smoke',
  waitingFor: '2 smoke checks on the preview listener',
  steps: [step('resolving', 0, 100), step('starting', 100, 1310), step('smoke', 1310, null)],
});
const FAILED = view({
  step: 'failed',
  ended: true,
  outcome: 'failed',
  reason: 'step "smoke" failed: GET /api: status 500, expected 200',
  steps: [
    step('resolving', 0, 100),
    step('starting', 100, 1310),
    step('smoke', 1310, 1610),
    step('cleaning-up', 1610, 1700),
  ],
});

void test('not a TTY: one plain line per step as it ends, each once, no escape codes', () => {
  const out = capture();
  const progress = new DeploymentProgress({ write: out.write, isTTY: false, now: () => T0 });
  progress.update(STARTING);
  progress.update(STARTING);
  progress.update(SMOKE);
  progress.redraw();
  progress.update(FAILED);
  progress.clear();
  assert.equal(
    out.text(),
    [
      '✓ resolving 0.10s',
      '✓ starting 1.21s',
      '✗ smoke 0.30s: GET /api: status 500, expected 200',
      '✓ cleaning-up 90ms',
      '',
    ].join('\n'),
  );
  assert.ok(!out.text().includes('\x1b') && !out.text().includes('\r'), 'no escape codes');
});

void test('a TTY: the status line is redrawn in place and finished steps are printed above it', () => {
  const out = capture();
  let now = T0 + 1100;
  const progress = new DeploymentProgress({ write: out.write, isTTY: true, now: () => now });
  progress.update(STARTING);
  assert.equal(
    out.text(),
    '✓ resolving 0.10s\n' + CLEAR + '[starting 1.0s] waiting for 1 of 2 instances healthy',
  );
  now = T0 + 1300;
  progress.redraw();
  assert.ok(out.text().endsWith(CLEAR + '[starting 1.2s] waiting for 1 of 2 instances healthy'));
  const before = out.text().length;
  now = T0 + 1500;
  progress.update(SMOKE);
  assert.equal(
    out.text().slice(before),
    CLEAR +
      '✓ starting 1.21s\n' +
      CLEAR +
      '[smoke 0.2s] waiting for 2 smoke checks on the preview listener',
  );
  const beforeEnd = out.text().length;
  progress.update(FAILED);
  // The status line is cleared, the last steps printed, and no status line is drawn again.
  assert.equal(
    out.text().slice(beforeEnd),
    CLEAR + '✗ smoke 0.30s: GET /api: status 500, expected 200\n✓ cleaning-up 90ms\n',
  );
  progress.clear();
  assert.equal(out.text().length, beforeEnd + out.text().slice(beforeEnd).length);
});

void test('a TTY: the status line is cut to the terminal width, and clear() removes it once', () => {
  const out = capture();
  const progress = new DeploymentProgress({
    write: out.write,
    isTTY: true,
    columns: 30,
    now: () => T0 + 1100,
  });
  progress.update({ ...STARTING, steps: [step('starting', 100, null)] });
  assert.equal(out.text(), CLEAR + '[starting 1.0s] waiting for …');
  assert.equal(out.text().length - CLEAR.length, 29);
  progress.clear();
  progress.clear();
  assert.ok(out.text().endsWith('…' + CLEAR));
  assert.equal(out.text().split(CLEAR).length, 3);
});
