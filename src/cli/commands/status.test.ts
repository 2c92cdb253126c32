import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_T0, step, view } from '../../../test/helpers/deployment-views.ts';
import { withRunning } from './status.ts';

void test('status lists the deployments still running under the apps, and nothing else', () => {
  const running = view({
    id: 'd-9',
    step: 'verifying',
    waitingFor: '12 probes ok so far',
    steps: [step('flipping', 0, 10), step('verifying', 10, null)],
  });
  const ended = view({ id: 'd-8', step: 'succeeded', ended: true, outcome: 'succeeded' });
  const now = Date.parse(DEPLOYMENT_T0) + 2010;
  assert.equal(
    withRunning('shop: green is live', [running, ended], now),
    [
      'shop: green is live',
      '',
      'deployments running:',
      '  shop v2 (d-9): [verifying 2.0s] waiting for 12 probes ok so far',
    ].join('\n'),
  );
  assert.equal(withRunning('shop: green is live', [ended], now), 'shop: green is live');
});

void test('status says plainly when the last deployment went live rolling: no instant rollback', () => {
  const rolled = view({
    id: 'd-7',
    step: 'succeeded',
    ended: true,
    outcome: 'succeeded',
    strategy: 'rolling',
  });
  assert.equal(
    withRunning('shop: green is live', [rolled]),
    [
      'shop: green is live',
      '',
      'shop: v2 went live rolling (d-7): no standby, no instant rollback; deploy the previous release again to go back',
    ].join('\n'),
  );
  // An older rolling deployment does not speak for the app any more.
  const later = view({ id: 'd-8', step: 'succeeded', ended: true, outcome: 'succeeded' });
  assert.equal(withRunning('shop: green is live', [later, rolled]), 'shop: green is live');
});
