import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { isCutoverError } from '../../../core/errors.ts';
import type { ProcessStartSpec } from '../../../ports/runtime.ts';
import { firstIndexOf, formatAddress, validateStartSpec } from './start-spec.ts';

const GOOD: ProcessStartSpec = { dir: tmpdir(), command: 'node server.js', instances: 2 };

function refusedOn(field: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(isCutoverError(error));
    assert.equal(error.code, 'CUTOVER_ERR_USAGE');
    assert.deepEqual(error.details, { field });
    assert.match(error.message, pattern);
    return true;
  };
}

void it('accepts a good spec and refuses each bad field by name', async () => {
  assert.equal(await validateStartSpec('shop', GOOD), GOOD);
  const cases: [string, ProcessStartSpec | undefined, string, RegExp][] = [
    ['../x', GOOD, 'app', /app name "\.\.\/x"/],
    ['shop', undefined, 'start', /needs a start command/],
    ['shop', { ...GOOD, command: '  ' }, 'start', /start command is empty/],
    ['shop', { ...GOOD, instances: 0 }, 'instances', /from 1 to 64, got 0/],
    ['shop', { ...GOOD, instances: 1.5 }, 'instances', /got 1\.5/],
    ['shop', { ...GOOD, stopSignal: 'SIGTREM' as NodeJS.Signals }, 'stop.signal', /SIGTREM/],
    ['shop', { ...GOOD, stopTimeoutMs: -1 }, 'stop.timeout', /0 or more ms/],
    ['shop', { ...GOOD, dir: join(tmpdir(), 'cutover-absent-dir') }, 'dir', /does not exist/],
  ];
  for (const [app, spec, field, pattern] of cases) {
    await assert.rejects(validateStartSpec(app, spec), refusedOn(field, pattern));
  }
});

void it('brackets IPv6 hosts in addresses', () => {
  assert.equal(formatAddress('127.0.0.1', 3000), '127.0.0.1:3000');
  assert.equal(formatAddress('::1', 3000), '[::1]:3000');
});

void it('numbers instances from firstIndex (default 1) and refuses one below 1', () => {
  assert.equal(firstIndexOf({}), 1);
  assert.equal(firstIndexOf({ firstIndex: 3 }), 3);
  assert.throws(() => firstIndexOf({ firstIndex: 0 }), refusedOn('firstIndex', /from 1, got 0/));
  assert.throws(() => firstIndexOf({ firstIndex: 1.5 }), refusedOn('firstIndex', /got 1.5/));
});
