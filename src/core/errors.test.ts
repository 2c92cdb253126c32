// Ties the error registry to docs/errors.md: every code documented, every documented code real,
// and the documented HTTP status and exit code equal to the registry's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CutoverError, ERROR_CODES, isCutoverError, toErrorBody } from './errors.ts';
import type { ErrorCode } from './errors.ts';

const DOC_PATH = new URL('../../docs/errors.md', import.meta.url);

interface DocumentedError {
  readonly code: string;
  readonly status: number | null;
  readonly exitCode: number | null;
  readonly whatToDo: boolean;
  /** The section's text with whitespace collapsed, to find the registry's description in. */
  readonly text: string;
}

function parseErrorDoc(text: string): DocumentedError[] {
  const sections = text.split(/^## /m).slice(1);
  return sections.map((section) => {
    const heading = section.slice(0, section.indexOf('\n')).trim();
    const status = /^- HTTP status: (\d+)$/m.exec(section);
    const exitCode = /^- Exit code: (\d+)$/m.exec(section);
    return {
      code: heading,
      status: status?.[1] === undefined ? null : Number(status[1]),
      exitCode: exitCode?.[1] === undefined ? null : Number(exitCode[1]),
      whatToDo: /^What to do: \S/m.test(section),
      text: section.replace(/\s+/g, ' '),
    };
  });
}

const documented = parseErrorDoc(readFileSync(DOC_PATH, 'utf8'));
const registered = Object.keys(ERROR_CODES) as ErrorCode[];

void test('every registered error code has a section in docs/errors.md', () => {
  const names = new Set(documented.map((entry) => entry.code));
  const missing = registered.filter((code) => !names.has(code));
  assert.deepEqual(missing, [], `add a section to docs/errors.md for: ${missing.join(', ')}`);
});

void test('every section of docs/errors.md names a registered code', () => {
  const unknown = documented
    .map((entry) => entry.code)
    .filter((code) => !Object.hasOwn(ERROR_CODES, code));
  assert.deepEqual(
    unknown,
    [],
    `remove or fix these sections of docs/errors.md: ${unknown.join(', ')}`,
  );
});

void test('no code is documented twice', () => {
  const seen = new Set<string>();
  const twice = documented.map((entry) => entry.code).filter((code) => !seen.add(code));
  assert.deepEqual(twice, []);
});

void test('documented HTTP status, exit code and advice match the registry', () => {
  for (const entry of documented) {
    if (!Object.hasOwn(ERROR_CODES, entry.code)) continue;
    const definition = ERROR_CODES[entry.code as ErrorCode];
    assert.equal(entry.status, definition.status, `${entry.code}: HTTP status in docs/errors.md`);
    assert.equal(entry.exitCode, definition.exitCode, `${entry.code}: exit code in docs/errors.md`);
    assert.ok(entry.whatToDo, `${entry.code}: docs/errors.md needs a "What to do:" line`);
    assert.ok(
      entry.text.includes(definition.description.replace(/\s+/g, ' ')),
      `${entry.code}: copy the registry's description into docs/errors.md`,
    );
  }
});

void test('codes follow CUTOVER_ERR_<AREA>_<WHAT> and carry a description that ends with a period', () => {
  for (const code of registered) {
    assert.match(code, /^CUTOVER_ERR_[A-Z]+(_[A-Z]+)*$/);
    assert.match(ERROR_CODES[code].description, /\.$/, code);
    assert.ok([1, 2].includes(ERROR_CODES[code].exitCode), code);
  }
});

void test('CutoverError exposes the registry status and exit code and serializes to the error body', () => {
  const error = new CutoverError('CUTOVER_ERR_APP_NOT_FOUND', 'no app "shop"', { app: 'shop' });
  assert.ok(isCutoverError(error));
  assert.equal(error.status, 404);
  assert.equal(error.exitCode, 1);
  assert.deepEqual(toErrorBody(error), {
    error: {
      code: 'CUTOVER_ERR_APP_NOT_FOUND',
      message: 'no app "shop"',
      details: { app: 'shop' },
    },
  });
  assert.ok(!isCutoverError(new Error('plain')));
});
