import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, indent } from './format-table.ts';

void test('aligns columns to the widest cell and trims trailing space', () => {
  const table = formatTable(
    ['color', 'role', 'release'],
    [
      ['blue', 'live', 'v1'],
      ['green', 'standby', ''],
    ],
  );
  assert.equal(
    table,
    ['color  role     release', 'blue   live     v1', 'green  standby'].join('\n'),
  );
});

void test('indents non-empty lines', () => {
  assert.equal(indent('a\n\nb', 2), '  a\n\n  b');
});
