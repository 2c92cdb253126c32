import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrillPhase, DrillReport } from '../client/api-types.ts';
import { formatDrillReport } from './format-drill.ts';

function phase(from: 'blue' | 'green', to: 'blue' | 'green', release: string): DrillPhase {
  return {
    flip: { app: 'shop', from, to, release, generation: 8, durationMs: 1.2 },
    verify: { ok: true, reason: null, probes: 25, durationMs: 5000 },
    recoveryMs: 212,
  };
}

const PASSED: DrillReport = {
  app: 'shop',
  live: 'green',
  standby: 'blue',
  passed: true,
  reason: null,
  rtoMs: 212,
  objectiveMs: 1000,
  failedRequests: 0,
  requests: 340,
  back: phase('green', 'blue', 'v1'),
  forward: phase('blue', 'green', 'v2'),
  startedAt: '2026-11-26T12:00:00.000Z',
  durationMs: 10_400,
};

void test('a passed drill: RTO against the objective, failed requests, both phases', () => {
  assert.equal(
    formatDrillReport(PASSED),
    [
      'shop: drill passed: RTO 212 ms (objective 1.00 s), 0 failed requests of 340',
      '  back:     green -> blue (v1): flip 1.2 ms, recovery 212 ms, verify ok, 25 probes in 5.00 s',
      '  forward:  blue -> green (v2): flip 1.2 ms, recovery 212 ms, verify ok, 25 probes in 5.00 s',
      '  took 10.40 s, started 2026-11-26T12:00:00.000Z',
    ].join('\n'),
  );
});

void test('a failed drill says FAILED, the failing verify, the missing forward phase and why', () => {
  const back = phase('green', 'blue', 'v1');
  const text = formatDrillReport({
    ...PASSED,
    passed: false,
    reason: 'the standby failed its probes',
    back: { ...back, verify: { ...back.verify, ok: false, reason: 'GET /: status 500' } },
    forward: null,
  });
  assert.match(text, /^shop: drill FAILED: RTO 212 ms/);
  assert.match(text, /verify FAILED: GET \/: status 500 \(25 probes in 5\.00 s\)/);
  assert.match(text, /forward: {2}not run \(the drill stopped after the rollback phase\)/);
  assert.match(text, /\n {2}reason: the standby failed its probes$/);
});
