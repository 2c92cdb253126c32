// Validation of admin request bodies. A bad request is refused with a message naming the field,
// before anything reaches the controller (QUALITY.md B4).
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseAddress, validateAppName, validateReleaseId } from '../../core/app-state.ts';
import { CutoverError, isCutoverError } from '../../core/errors.ts';
import type {
  AbortRequest,
  DeployRequest,
  DrillRequest,
  FlipRequest,
  MigrationsPlanRequest,
  RollbackRequest,
  StartDeploymentRequest,
} from '../../client/api-types.ts';

const MAX_INSTANCES = 256;
const MAX_HOSTS = 256;
const MAX_TIMEOUT_MS = 3_600_000;
/** The release's cutover.yaml travels in the request; its text is bounded in UTF-8 bytes. */
export const MAX_CONFIG_BYTES = 64 * 1024;
const MAX_PATH_CHARS = 4096;
const MAX_REASON_CHARS = 500;
/** A drill objective longer than a day is not a recovery objective. */
const MAX_OBJECTIVE_MS = 86_400_000;
const DEPLOYMENT_ID_PATTERN = /^[a-z0-9-]{1,64}$/;

/** Runs a core validator (which throws a usage error) as a zod check with its message. */
function coreCheck(validate: (value: string) => void) {
  return (value: string, ctx: z.core.$RefinementCtx<string>): void => {
    try {
      validate(value);
    } catch (error) {
      if (!isCutoverError(error)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, input: value });
    }
  };
}

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

const releaseIdSchema = z.string().superRefine(coreCheck(validateReleaseId));

const releaseDirSchema = z
  .string()
  .min(1)
  .max(MAX_PATH_CHARS)
  .refine((dir) => isAbsolute(dir) && !dir.includes('\0'), {
    message: 'must be an absolute path on the daemon host, e.g. /srv/shop/releases/v42',
  });

const configTextSchema = z
  .string()
  .refine((text) => Buffer.byteLength(text, 'utf8') <= MAX_CONFIG_BYTES, {
    message: `the cutover.yaml text must be at most ${MAX_CONFIG_BYTES} bytes`,
  });

const configPathSchema = z.string().min(1).max(MAX_PATH_CHARS);

const startDeploymentSchema = z.strictObject({
  release: releaseIdSchema,
  dir: releaseDirSchema,
  config: configTextSchema,
  configPath: configPathSchema.optional(),
  instances: z
    .array(z.string().min(1).max(300).superRefine(coreCheck(parseAddress)))
    .min(1)
    .max(MAX_INSTANCES)
    .optional(),
  strategy: z.enum(['bluegreen', 'canary', 'rolling']).optional(),
  acceptDrift: z.array(z.string().min(1).max(200)).max(100).optional(),
  mirror: z.boolean().optional(),
});

/** The release a plan reads, like a deployment's, without instances: nothing is started. */
const migrationsPlanSchema = z.strictObject({
  release: releaseIdSchema,
  dir: releaseDirSchema,
  config: configTextSchema,
  configPath: configPathSchema.optional(),
});

/** The contract takes no options: it applies the live release's pending contract files. */
const migrationsContractSchema = z.strictObject({});

const abortSchema = z.strictObject({
  reason: z.string().max(MAX_REASON_CHARS).optional(),
});

const drillSchema = z.strictObject({
  objectiveMs: z.number().int().positive().max(MAX_OBJECTIVE_MS).optional(),
});

function parseWith<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => {
      const field = issue.path.length === 0 ? 'body' : issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => `"${key}"`).join(', ');
        return `${field}: unknown field${issue.keys.length === 1 ? '' : 's'} ${keys}, remove ${issue.keys.length === 1 ? 'it' : 'them'}`;
      }
      if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
        return `${field}: is required (${issue.expected})`;
      }
      // Core validators end their messages with a period; the joined list adds its own.
      return `${field}: ${issue.message.replace(/\.$/, '')}`;
    })
    .join('; ');
  throw new CutoverError('CUTOVER_ERR_USAGE', `Invalid ${what} request: ${problems}.`);
}

export function parseStartDeploymentRequest(body: unknown): StartDeploymentRequest {
  return parseWith(startDeploymentSchema, body, 'start deployment');
}

export function parseMigrationsPlanRequest(body: unknown): MigrationsPlanRequest {
  return parseWith(migrationsPlanSchema, body, 'migrations plan');
}

/** Checks the contract's body is `{}` (or empty): an unknown field is refused, not ignored. */
export function parseMigrationsContractRequest(body: unknown): void {
  parseWith(migrationsContractSchema, body, 'migrations contract');
}

export function parseAbortRequest(body: unknown): AbortRequest {
  return parseWith(abortSchema, body, 'abort');
}

export function parseDrillRequest(body: unknown): DrillRequest {
  return parseWith(drillSchema, body, 'drill');
}

/** A deployment id in a path: what the controller hands out, nothing else reaches it. */
export function parseDeploymentId(value: string | undefined): string {
  if (value === undefined || !DEPLOYMENT_ID_PATTERN.test(value)) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `Invalid deployment id "${value ?? ''}": use the id a deployment was given (1-64 lower-case letters, digits and dashes), as listed by GET /v1/deployments.`,
      { field: 'id' },
    );
  }
  return value;
}

/** An app name in a path or query, checked before the controller sees it. */
export function parseAppName(value: string | undefined): string {
  const name = value ?? '';
  validateAppName(name);
  return name;
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
