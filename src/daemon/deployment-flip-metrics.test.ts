import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentFlipOf } from './deployment-flip-metrics.ts';

const AT = '2026-11-26T12:00:00.000Z';

void test("a deployment's flip and flip back are counted; manual ones and other entries are not", () => {
  const entry = (type: string, data: Record<string, unknown>) => ({
    id: 1,
    app: 'shop',
    type,
    at: AT,
    data,
  });
  assert.deepEqual(
    deploymentFlipOf(
      entry('flipped', { actor: 'deployment d-1', kind: 'deploy', durationMs: 2.5 }),
    ),
    { app: 'shop', kind: 'deploy', durationMs: 2.5 },
  );
  assert.deepEqual(
    deploymentFlipOf(entry('rolled-back', { actor: 'deployment d-1', kind: 'rollback' })),
    { app: 'shop', kind: 'rollback', durationMs: 0 },
  );
  // Counted by their admin routes already.
  assert.equal(
    deploymentFlipOf(entry('flipped', { actor: 'unix:root', kind: 'flip', durationMs: 1 })),
    null,
  );
  assert.equal(
    deploymentFlipOf(entry('rolled-back', { actor: 'drill d', kind: 'rollback', durationMs: 1 })),
    null,
  );
  assert.equal(deploymentFlipOf(entry('drained', { actor: 'deployment d-1' })), null);
});
