// The shape of a stored deployment record and effect journal entry, checked on every read so one
// bad row degrades only itself (QUALITY.md B7) and on every write so a bad one never reaches the
// disk. The check is light on purpose: the controller owns the state machine's full shape, the
// store only makes sure a record can be found, filtered and resumed.
import { z } from 'zod';
import type { DeploymentRecord, EffectEntry } from '../../../ports/state-store.ts';

const jsonObject = z.record(z.string(), z.unknown());

const deploymentRecordSchema = z.object({
  id: z.string().min(1),
  app: z.string().min(1),
  active: z.boolean(),
  state: z.looseObject({
    id: z.string().min(1),
    app: z.string().min(1),
    step: z.string().min(1),
    startedAt: z.string(),
  }),
  request: jsonObject,
  report: jsonObject,
  requestedBy: z.string(),
});

const effectStatusSchema = z.enum(['begun', 'done']);

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue === undefined ? '' : issue.path.join('.') || '(root)';
  return `wrong shape at ${where}: ${issue?.message ?? 'invalid'}`;
}

/** Returns why `record` cannot be stored, or null when it can. */
export function checkDeploymentRecord(record: DeploymentRecord): string | null {
  const parsed = deploymentRecordSchema.safeParse(record);
  if (!parsed.success) return firstIssue(parsed.error);
  if (record.state.id !== record.id) {
    return `state.id "${record.state.id}" differs from the record id "${record.id}"`;
  }
  if (record.state.app !== record.app) {
    return `state.app "${record.state.app}" differs from the record app "${record.app}"`;
  }
  return null;
}

/**
 * Decodes one stored row; never throws. The parsed JSON itself is returned (not zod's copy),
 * so fields the light schema does not name come back exactly as saved.
 */
export function decodeDeploymentRecord(id: string, json: string): Decoded<DeploymentRecord> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
  }
  const parsed = deploymentRecordSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  const record = raw as DeploymentRecord;
  if (record.id !== id) {
    return { ok: false, reason: `record names deployment "${record.id}", stored as "${id}"` };
  }
  return { ok: true, value: record };
}

/** Decodes one stored effect row (`result` is JSON text); never throws. */
export function decodeEffectEntry(row: {
  key: string;
  status: string;
  result: string;
  at: string;
}): Decoded<EffectEntry> {
  const status = effectStatusSchema.safeParse(row.status);
  if (!status.success) {
    return { ok: false, reason: `status "${row.status}" is neither "begun" nor "done"` };
  }
  let result: unknown;
  try {
    result = JSON.parse(row.result);
  } catch (error) {
    return { ok: false, reason: `result is not JSON: ${(error as Error).message}` };
  }
  return { ok: true, value: { key: row.key, status: status.data, result, at: row.at } };
}

/** Returns why `entry` cannot be stored, or null when it can. */
export function checkEffectEntry(entry: EffectEntry): string | null {
  if (typeof entry.key !== 'string' || entry.key.length === 0) return 'the key is empty';
  if (!effectStatusSchema.safeParse(entry.status).success) {
    return `status "${String(entry.status)}" is neither "begun" nor "done"`;
  }
  if (typeof entry.at !== 'string') return 'at is not an ISO-8601 string';
  return null;
}
