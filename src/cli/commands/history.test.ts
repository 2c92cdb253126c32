import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHistory } from './history.ts';

void test('history rows: one per event, details as key=value with rounded durations', () => {
  const text = formatHistory([
    {
      id: 7,
      app: 'shop',
      type: 'flipped',
      at: '2026-11-26T09:25:05.015Z',
      data: {
        from: 'blue',
        to: 'green',
        generation: 5,
        durationMs: 1034.1195010000001,
        hosts: ['a'],
      },
    },
  ]);
  assert.equal(
    text,
    [
      'id  at                        app   event    details',
      '7   2026-11-26T09:25:05.015Z  shop  flipped  from=blue to=green generation=5 durationMs=1034.1 hosts=["a"]',
    ].join('\n'),
  );
  assert.equal(formatHistory([]), 'no history yet');
});
