import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeState } from './describe-state.ts';
import { createDeployment } from './deployment-state.ts';
import { transition } from './transition.ts';

const AT = '2026-11-26T10:00:00.000Z';

void describe('describeState', () => {
  void it('says which step runs and what it waits for', () => {
    let state = createDeployment({ id: 'd1', app: 'shop', release: 'v2', requestedAt: AT });
    assert.equal(describeState(state).line, 'shop v2: locking (waiting for the lock on shop)');
    state = transition(state, { type: 'LockAcquired', at: AT }).state;
    state = transition(state, { type: 'IdleResolved', at: AT, live: 'blue', idle: 'green' }).state;
    state = transition(state, { type: 'DriftChecked', at: AT }).state;
    state = transition(state, { type: 'SchemaChecked', at: AT }).state;
    const starting = describeState(state);
    assert.equal(starting.step, 'starting');
    assert.equal(starting.waitingFor, 'the instances of v2 on green to pass their health checks');
    assert.equal(starting.stepElapsedMs, null);
    const later = describeState(state, '2026-11-26T10:00:12.345Z');
    assert.equal(later.stepElapsedMs, 12_345);
    assert.equal(
      later.line,
      'shop v2: starting 12.3 s (waiting for the instances of v2 on green to pass their health checks)',
    );
  });

  void it('gives the reason and nothing to wait for once ended', () => {
    const state = transition(
      createDeployment({ id: 'd1', app: 'shop', release: 'v2', requestedAt: AT }),
      { type: 'LockRefused', at: AT, holder: 'deployment d0' },
    ).state;
    const description = describeState(state, '2026-11-26T10:05:00.000Z');
    assert.equal(description.waitingFor, null);
    assert.equal(description.stepElapsedMs, null);
    assert.equal(description.line, 'shop v2: failed - shop is locked by deployment d0');
  });
});
