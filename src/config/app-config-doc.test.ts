// Ties docs/config.md's cutover.yaml tables to the schema: every key documented, and every
// documented default, written out explicitly, loads to the same config as leaving the key out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { APP_CONFIG_KEYS } from '../core/app-config.ts';
import { parseAppConfigText } from './load-app-config.ts';

const DOC = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
const SECTION = DOC.slice(DOC.indexOf('## `cutover.yaml`'));
const BASE = 'app: shop\nstart: node server.js\n';
const LIST_SECTIONS = ['canary.steps'];

/** Table rows of the cutover.yaml section: the key and the default column's text. */
const ROWS = [...SECTION.matchAll(/^\| `([A-Za-z0-9.]+)` +\| ([^|]+?) +\|/gm)].map((match) => ({
  key: match[1] ?? '',
  defaultText: match[2] ?? '',
}));

void test('every cutover.yaml key is documented', () => {
  const documented = new Set(ROWS.map((row) => row.key));
  for (const [section, keys] of Object.entries(APP_CONFIG_KEYS)) {
    for (const key of keys) {
      // A section (health, smoke, ...) is documented by the rows of its keys.
      if (section === '' && key in APP_CONFIG_KEYS) continue;
      const name = section === '' || section === 'smoke' ? key : `${section}.${key}`;
      assert.ok(documented.has(name), `docs/config.md: add a row for ${name}`);
    }
  }
});

void test('every documented default is the default', () => {
  const defaults = parseAppConfigText(BASE);
  let checked = 0;
  for (const { key, defaultText } of ROWS) {
    const literal = /^`([^`]+)`$/.exec(defaultText)?.[1];
    // Smoke check keys (no section) belong to list items; `required` and prose have no literal.
    if (literal === undefined || (!key.includes('.') && !APP_CONFIG_KEYS['']?.includes(key))) {
      continue;
    }
    // Keys of list items (a canary step) have no default of their own to write out.
    if (LIST_SECTIONS.some((list) => key.startsWith(`${list}.`))) continue;
    const parts = key.split('.');
    const yaml = parts
      .map(
        (part, depth) =>
          `${'  '.repeat(depth)}${part}:${depth === parts.length - 1 ? ` ${literal}` : ''}\n`,
      )
      .join('');
    assert.deepEqual(parseAppConfigText(`${BASE}${yaml}`), defaults, `${key}: ${literal}`);
    checked += 1;
  }
  assert.ok(checked >= 25, `only ${checked} defaults checked: did the tables change shape?`);
});
