// Reads an app's `cutover.yaml` and returns its AppConfig, or refuses it with every problem on
// its own line: `cutover.yaml:7: health.rise: expected a whole number from 1 to 100, got "two"`.
// The YAML is parsed keeping node positions, so each schema issue maps back to a line.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import { validateAppConfig } from '../core/app-config.ts';
import type { AppConfig, AppConfigIssue } from '../core/app-config.ts';
import { CutoverError } from '../core/errors.ts';

export const APP_CONFIG_FILE_NAME = 'cutover.yaml';
/** Longer than any hand-written config; a bigger file is a mistake, not a config. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_GOT_CHARS = 40;

export interface AppConfigProblem {
  readonly line: number;
  readonly field: string;
  readonly message: string;
}

/** Loads `DIR/cutover.yaml` (the release directory's config). */
export function loadAppConfigFromDir(dir: string): Promise<AppConfig> {
  return loadAppConfig(join(dir, APP_CONFIG_FILE_NAME));
}

export async function loadAppConfig(file: string): Promise<AppConfig> {
  const label = labelOf(file);
  let text: string;
  try {
    const buffer = await readFile(file);
    if (buffer.length > MAX_CONFIG_BYTES) {
      throw invalid(`${label} is larger than 1 MiB; is it the right file?`, { file });
    }
    text = buffer.toString('utf8');
  } catch (error) {
    if (error instanceof CutoverError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(
      code === 'ENOENT'
        ? `${label} not found: run \`cutover init\` in the app's folder to write one`
        : `${label} could not be read: ${(error as Error).message}`,
      { file },
    );
  }
  return parseAppConfigText(text, label);
}

/** Parses and validates the text of a cutover.yaml; `label` names it in messages. */
export function parseAppConfigText(text: string, label: string = APP_CONFIG_FILE_NAME): AppConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({
      line: error.linePos?.[0].line ?? 1,
      field: '(yaml)',
      // The first line of a pretty error, without its "at line 3, column 1:" (we print the line).
      message: `not valid YAML: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    }));
    throw problemsError(label, problems);
  }
  const input: unknown = doc.toJS({ maxAliasCount: 100 });
  if (input === null || input === undefined) {
    throw problemsError(label, [
      { line: 1, field: '(top level)', message: 'the file is empty; start it with app: NAME' },
    ]);
  }
  const result = validateAppConfig(input);
  if (result.ok) return result.config;
  const problems = result.issues.map((issue) => toProblem(issue, doc, lineCounter, input));
  problems.sort((a, b) => a.line - b.line);
  throw problemsError(label, problems);
}

function toProblem(
  issue: AppConfigIssue,
  doc: Document,
  lineCounter: LineCounter,
  input: unknown,
): AppConfigProblem {
  const offset = offsetOf(doc, issue);
  const line = offset === undefined ? 1 : lineCounter.linePos(offset).line;
  // Env values may be secrets: never echo them.
  const echo = issue.kind === 'invalid' && issue.path[0] !== 'env';
  const got = echo ? describeGot(valueAt(input, issue.path)) : '';
  return { line, field: issue.field, message: `${issue.message}${got}` };
}

/**
 * Where an issue points: an unknown key at the key itself, a missing key at the mapping that
 * lacks it, a wrong value at the value; the nearest existing ancestor when the path runs out.
 */
function offsetOf(doc: Document, issue: AppConfigIssue): number | undefined {
  const path = issue.kind === 'missing' ? issue.path.slice(0, -1) : issue.path;
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const [index, key] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
      if (pair === undefined) break;
      const keyOffset = rangeStart(pair.key);
      // An unknown key and a mapping that lacks a key are both shown at their key's line.
      if (last && issue.kind !== 'invalid') return keyOffset ?? offset;
      node = pair.value;
      offset = rangeStart(node) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof key === 'number') {
      const item: unknown = node.items[key];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return typeof node === 'object' && node !== null && 'range' in node
    ? (node as Node).range?.[0]
    : undefined;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function describeGot(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return ', got nothing';
  if (Array.isArray(value)) return ', got a list';
  if (typeof value === 'object') return ', got a mapping';
  if (typeof value === 'string') {
    const shown = value.length > MAX_GOT_CHARS ? `${value.slice(0, MAX_GOT_CHARS)}...` : value;
    return `, got ${JSON.stringify(shown)}`;
  }
  return `, got ${typeof value === 'number' || typeof value === 'boolean' ? value : typeof value}`;
}

function problemsError(label: string, problems: readonly AppConfigProblem[]): CutoverError {
  const lines = problems.map(
    (problem) => `${label}:${problem.line}: ${problem.field}: ${problem.message}`,
  );
  return invalid(lines.join('\n'), { file: label, problems });
}

function invalid(message: string, details: Record<string, unknown>): CutoverError {
  return new CutoverError('CUTOVER_ERR_CONFIG_INVALID', message, details);
}

function labelOf(file: string): string {
  if (!isAbsolute(file)) return file;
  const fromCwd = relative(process.cwd(), file);
  return fromCwd.startsWith('..') || isAbsolute(fromCwd) ? file : fromCwd;
}
