import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CutoverError } from '../../core/errors.ts';
import { rethrowWithHint } from './rollback.ts';

void test('no standby: the daemon says why, the CLI adds what to run instead', () => {
  const refusal = new CutoverError(
    'CUTOVER_ERR_ROLLBACK_NO_STANDBY',
    'App "shop" has no standby to roll back to: it needs two deployments first.',
    { app: 'shop' },
  );
  assert.throws(
    () => rethrowWithHint(refusal, 'shop'),
    (error: unknown) =>
      error instanceof CutoverError &&
      error.code === 'CUTOVER_ERR_ROLLBACK_NO_STANDBY' &&
      error.message ===
        'App "shop" has no standby to roll back to: it needs two deployments first; ' +
          'to go back, deploy the previous release again: `cutover deploy <release> --dir <its folder>` ' +
          '(`cutover history shop --deployments` lists them)' &&
      error.details?.app === 'shop',
  );
  const other = new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', 'no app named "shop"');
  assert.throws(
    () => rethrowWithHint(other, 'shop'),
    (error: unknown) => error === other,
  );
});
