// Validation of admin request bodies. A bad request is refused with a message naming the field,
// before anything reaches the controller (QUALITY.md B4).
import { z } from 'zod';
import { CutoverError } from '../../core/errors.ts';
import type { DeployRequest, FlipRequest, RollbackRequest } from '../../client/api-types.ts';

const MAX_INSTANCES = 256;
const MAX_HOSTS = 256;
const MAX_TIMEOUT_MS = 3_600_000;

const positiveMs = z.number().int().positive().max(MAX_TIMEOUT_MS);

const healthSchema = z.strictObject({
  path: z.string().startsWith('/').max(2048).optional(),
  intervalMs: positiveMs.optional(),
  timeoutMs: positiveMs.optional(),
  rise: z.number().int().min(1).max(100).optional(),
  fall: z.number().int().min(1).max(100).optional(),
});

const deploySchema = z.strictObject({
  release: z.string().min(1).max(200),
  instances: z.array(z.string().min(1).max(300)).min(1).max(MAX_INSTANCES),
  hosts: z.array(z.string().min(1).max(253)).max(MAX_HOSTS).optional(),
  health: healthSchema.optional(),
  healthTimeoutMs: positiveMs.optional(),
});

const colorSchema = z.enum(['blue', 'green']);

const flipSchema = z.strictObject({
  to: colorSchema.optional(),
  waitDrain: z.boolean().optional(),
});

const rollbackSchema = z.strictObject({
  waitDrain: z.boolean().optional(),
});

function parseWith<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => {
      const field = issue.path.length === 0 ? 'body' : issue.path.join('.');
      return `${field}: ${issue.message}`;
    })
    .join('; ');
  throw new CutoverError('CUTOVER_ERR_USAGE', `Invalid ${what} request: ${problems}.`);
}

export function parseDeployRequest(body: unknown): DeployRequest {
  return parseWith(deploySchema, body, 'deploy');
}

export function parseFlipRequest(body: unknown): FlipRequest {
  return parseWith(flipSchema, body, 'flip');
}

export function parseRollbackRequest(body: unknown): RollbackRequest {
  return parseWith(rollbackSchema, body, 'rollback');
}

/** Parses `?limit=`: a whole number from 1 to 1000. */
export function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `limit must be a whole number from 1 to 1000, got "${value}".`,
    );
  }
  return Number(value);
}
