// The shape of a stored app record, checked on every read so one bad row degrades only its
// own app (QUALITY.md B7) and on every write so a bad record never reaches the disk.
import { z } from 'zod';
import type { AppState } from '../../../core/types.ts';

const colorSchema = z.enum(['blue', 'green']);

const healthSchema = z.object({
  path: z.string().startsWith('/'),
  intervalMs: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  rise: z.number().int().positive(),
  fall: z.number().int().positive(),
});

const releaseSchema = z.object({
  id: z.string().min(1),
  instances: z.array(z.object({ id: z.string().min(1), address: z.string().min(1) })),
  health: healthSchema,
  placedAt: z.string(),
});

const flipSchema = z.object({
  generation: z.number().int().nonnegative(),
  from: colorSchema.nullable(),
  to: colorSchema,
  release: z.string(),
  kind: z.enum(['deploy', 'flip', 'rollback']),
  at: z.string(),
  durationMs: z.number().nonnegative(),
});

export const appStateSchema = z.object({
  name: z.string().min(1),
  hosts: z.array(z.string()),
  live: colorSchema.nullable(),
  standby: colorSchema.nullable(),
  environments: z.object({
    blue: z.object({ color: z.literal('blue'), release: releaseSchema.nullable() }),
    green: z.object({ color: z.literal('green'), release: releaseSchema.nullable() }),
  }),
  flips: z.array(flipSchema),
  split: z
    .object({
      color: colorSchema,
      percent: z.number().min(0).max(100),
      sticky: z.boolean(),
      allow: z.object({
        header: z.object({ name: z.string().min(1), value: z.string() }).nullable(),
        cookie: z.object({ name: z.string().min(1), value: z.string() }).nullable(),
      }),
    })
    .nullable()
    .optional(),
  mirror: z
    .object({
      color: colorSchema,
      maxPerSecond: z.number().positive(),
      maxBodyBytes: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
});

export type DecodedApp = { ok: true; app: AppState } | { ok: false; reason: string };

/** Decodes one stored row; never throws. */
export function decodeAppRecord(name: string, json: string): DecodedApp {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
  }
  const parsed = appStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : issue.path.join('.') || '(root)';
    return { ok: false, reason: `wrong shape at ${where}: ${issue?.message ?? 'invalid'}` };
  }
  if (parsed.data.name !== name) {
    return { ok: false, reason: `record names app "${parsed.data.name}", stored as "${name}"` };
  }
  return { ok: true, app: parsed.data };
}

/** Returns why `app` cannot be stored, or null when it can. */
export function checkAppRecord(app: AppState): string | null {
  const parsed = appStateSchema.safeParse(app);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  return `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
}
