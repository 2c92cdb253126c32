// The app's `cutover.yaml` as data: the zod schema, its defaults, and the fully-defaulted typed
// `AppConfig` the pipeline consumes. Pure: no file access and no line numbers; the loader in
// `src/config/` maps each issue's path back to a line of the file.
import { z } from 'zod';
import { parseDatabaseUrl } from './database-url.ts';
import { MAX_DURATION_MS, parseDurationText } from './duration.ts';

export type JsonScalar = string | number | boolean | null;

/** An env var: a literal value, or a reference resolved only when an instance starts. */
export type EnvValue =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'fromEnv'; readonly name: string }
  | { readonly kind: 'fromFile'; readonly path: string };

export interface HttpSmokeCheck {
  readonly kind: 'http';
  readonly path: string;
  readonly method: HttpMethod;
  readonly status: number;
  readonly bodyContains: string | null;
  /** Dotted field path (`data.version`) to the value the JSON body must hold there. */
  readonly json: Readonly<Record<string, JsonScalar>>;
  readonly timeoutMs: number;
}

export interface CommandSmokeCheck {
  readonly kind: 'command';
  /** Run by `sh -c` with CUTOVER_URL set to the idle color's URL; exit 0 passes. */
  readonly command: string;
  readonly timeoutMs: number;
}

export type SmokeCheck = HttpSmokeCheck | CommandSmokeCheck;
export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

export interface AppConfig {
  readonly app: string;
  readonly hosts: readonly string[];
  readonly runtime: 'process' | 'external';
  /** The command that starts one instance (process runtime); null for the external runtime. */
  readonly start: string | null;
  readonly cwd: string;
  readonly instances: number;
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly stop: { readonly signal: StopSignal; readonly timeoutMs: number };
  readonly health: {
    readonly path: string;
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly rise: number;
    readonly fall: number;
    readonly startTimeoutMs: number;
  };
  readonly smoke: readonly SmokeCheck[];
  readonly warmup: {
    readonly requests: number;
    readonly durationMs: number;
    readonly paths: readonly string[];
    readonly concurrency: number;
  };
  readonly switch: {
    readonly drainTimeoutMs: number;
    readonly websocketGraceMs: number;
    readonly probeWindowMs: number;
    readonly probeIntervalMs: number;
    readonly probePaths: readonly string[];
    /** Fraction of failed requests (0..1) in the probe window above which the flip is undone. */
    readonly failureThreshold: number;
    readonly autoRollback: boolean;
  };
  readonly standby: { readonly rollbackWindowMs: number; readonly after: 'keep' | 'stop' };
  readonly rtoMs: number;
  /** The app's database (issue 4); null: no database, the schema steps are skipped. */
  readonly database: DatabaseConfig | null;
  readonly migrations: MigrationsConfig;
  /** How traffic moves to the new release (issue 5); `cutover deploy --strategy` overrides it. */
  readonly strategy: Strategy;
  readonly canary: CanaryConfig;
  readonly rolling: RollingConfig;
  readonly mirror: MirrorConfig;
  readonly drift: DriftConfig;
}

export type Strategy = 'bluegreen' | 'canary' | 'rolling';
export const STRATEGIES: readonly Strategy[] = ['bluegreen', 'canary', 'rolling'];

export interface CanaryStep {
  /** Share of public traffic on the canary, 0 < percent <= 100 (two decimals at most). */
  readonly percent: number;
  /** How long the step runs before its analysis judges it. */
  readonly pauseMs: number;
}

export interface CanaryAnalysisConfig {
  /** A step is judged only once the canary served this many requests in it (else it waits). */
  readonly minRequests: number;
  /** Absolute limit on the canary's error rate (0..1) in a step. */
  readonly maxErrorRate: number;
  /** Limit on the canary's error rate above the live color's in the same step (0..1). */
  readonly maxErrorRateIncrease: number;
  /** Absolute limit on the canary's p99 time to response head, in ms; null: none. */
  readonly maxP99Ms: number | null;
  /** Limit on the canary's p99 over the live color's p99 in the same step; null: none. */
  readonly maxP99Ratio: number | null;
  /** How long a step may wait for `minRequests` beyond its pause before it fails. */
  readonly maxWaitMs: number;
}

export interface CanaryConfig {
  readonly steps: readonly CanaryStep[];
  readonly analysis: CanaryAnalysisConfig;
  /** Keep each client on its color across requests (cookie + deterministic buckets). */
  readonly sticky: boolean;
  /** Testers sent to the canary at any weight. */
  readonly allow: {
    readonly header: { readonly name: string; readonly value: string } | null;
    readonly cookie: { readonly name: string; readonly value: string } | null;
  };
  /** Extra checks run at the end of every step, like smoke checks, through the preview listener. */
  readonly checks: readonly SmokeCheck[];
}

export interface RollingConfig {
  /** Instances replaced at a time. */
  readonly batch: number;
  /** How long each batch serves its share, with probes and analysis, before the next. */
  readonly pauseMs: number;
}

export interface MirrorConfig {
  /** Mirror live requests to the idle color from warm-up until the flip. */
  readonly enabled: boolean;
  readonly maxPerSecond: number;
  readonly maxBodyBytes: number;
}

export interface DriftConfig {
  /**
   * Snapshot keys expected to differ between releases (globs on key names, like
   * `env.APP_VERSION`, `files.*`); the release id always may.
   */
  readonly expect: readonly string[];
  /** Config files the app reads, relative to the release dir: hashed into the snapshot. */
  readonly files: readonly string[];
  /** How often the live color is re-snapshotted to catch changes made in place; 0: never. */
  readonly intervalMs: number;
  /** Whether drift refuses a deployment of this release (default); false: it is only reported. */
  readonly enforce: boolean;
}

export interface DatabaseConfig {
  /** Its URL: `postgres://`, `postgresql://`, `sqlite:<path>` or `file:<path>`. */
  readonly url: EnvValue;
  /** The env var the app reads its database URL from (a shadow's URL, on the shadow). */
  readonly env: string;
}

export interface MigrationsConfig {
  readonly dir: string;
  readonly lockTimeoutMs: number;
  /** 0: no limit. */
  readonly statementTimeoutMs: number;
  readonly retries: number;
  /** `auto`: the daemon runs the live release's contract files once its standby is retired. */
  readonly contract: 'auto' | 'manual';
  readonly compat: {
    /** Run by `sh -c` with CUTOVER_DATABASE_URL and the `database.env` var set to the shadow. */
    readonly command: string | null;
    /** Also run the smoke checks against instances started on the shadow. */
    readonly smoke: boolean;
    /**
     * A SQL file (relative to the release dir) of the INSERT/UPDATE/DELETE statements the
     * release performs, run on the migrated shadow inside a rolled-back transaction; absent: none.
     */
    readonly writes?: string;
  };
}

/** One thing wrong with the input, at a path of keys and list indexes. */
export interface AppConfigIssue {
  readonly path: readonly (string | number)[];
  /** The path for people: `smoke[0].status`, or `(top level)`. */
  readonly field: string;
  readonly kind: 'invalid' | 'missing' | 'unknown';
  /** What was expected (and, for an unknown key, the key it may have meant). */
  readonly message: string;
}

export type AppConfigResult =
  | { readonly ok: true; readonly config: AppConfig }
  | { readonly ok: false; readonly issues: readonly AppConfigIssue[] };

const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_PATTERN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const URL_PATH_PATTERN = /^\/[\x21-\x7e]*$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_INSTANCES = 64;
const MAX_WARMUP_CONCURRENCY = 256;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const;
/** Each instance gets its own PORT from cutover; a configured one would be silently ignored. */
const RESERVED_ENV_NAMES = new Set(['PORT']);

const HOST_EXPECTED = 'expected a host name like shop.example.com';
const DURATION_EXPECTED = 'expected a duration like 500ms, 30s or 2m (or a number of ms)';

/** Parses `30s`, `500ms`, `2m`, `1h`, `1.5s` or a number of milliseconds; undefined if neither. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  return parseDurationText(value);
}

function duration(defaultMs: number, options: { allowZero?: boolean } = {}) {
  const expected =
    options.allowZero === true ? `${DURATION_EXPECTED}, 0 for none` : DURATION_EXPECTED;
  return z
    .unknown()
    .transform((value, ctx): number => {
      const ms = parseDurationMs(value);
      if (ms === undefined || (ms === 0 && options.allowZero !== true)) {
        ctx.addIssue({
          code: 'custom',
          message: ms === 0 ? `${expected}, longer than 0` : expected,
        });
        return z.NEVER;
      }
      if (ms > MAX_DURATION_MS) {
        ctx.addIssue({ code: 'custom', message: `${expected}, at most 24h` });
        return z.NEVER;
      }
      return ms;
    })
    .default(defaultMs);
}

function integer(min: number, max: number) {
  const expected =
    min === 1 && max === Number.MAX_SAFE_INTEGER
      ? 'expected a positive integer'
      : `expected a whole number from ${min} to ${max}`;
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(min, { error: expected })
    .max(max, { error: expected });
}

function text(expected: string, pattern?: RegExp) {
  const schema = z.string({ error: expected }).trim().min(1, { error: expected });
  return pattern === undefined ? schema : schema.regex(pattern, { error: expected });
}

const urlPath = () =>
  text('expected a URL path starting with "/", like /healthz', URL_PATH_PATTERN);

const envValueSchema = z.unknown().transform((value, ctx): EnvValue => {
  if (typeof value === 'string') return { kind: 'value', value };
  if (typeof value === 'number' || typeof value === 'boolean') {
    return { kind: 'value', value: String(value) };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const entry = value as Record<string, unknown>;
    if (
      keys.length === 1 &&
      typeof entry.fromEnv === 'string' &&
      ENV_NAME_PATTERN.test(entry.fromEnv)
    ) {
      return { kind: 'fromEnv', name: entry.fromEnv };
    }
    if (keys.length === 1 && typeof entry.fromFile === 'string' && entry.fromFile.trim() !== '') {
      return { kind: 'fromFile', path: entry.fromFile };
    }
  }
  ctx.addIssue({
    code: 'custom',
    message: 'expected a value, { fromEnv: NAME } or { fromFile: PATH }',
  });
  return z.NEVER;
});

const envSchema = z
  .record(
    z
      .string()
      .regex(ENV_NAME_PATTERN, {
        error: 'expected env var names of letters, digits and _, not starting with a digit',
      })
      .refine((name) => !RESERVED_ENV_NAMES.has(name), {
        error: 'PORT is set by cutover for each instance; remove it',
      }),
    envValueSchema,
    { error: 'expected a mapping of env var names to values' },
  )
  .default({});

const jsonScalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'expected a string, number, true, false or null',
});

const SMOKE_SHAPE = {
  path: urlPath().optional(),
  method: z.enum(HTTP_METHODS, { error: `expected one of ${HTTP_METHODS.join(', ')}` }).optional(),
  status: integer(100, 599).optional(),
  bodyContains: z.string({ error: 'expected a string the body must contain' }).optional(),
  json: z
    .record(z.string(), jsonScalar, {
      error: 'expected a mapping of JSON field paths (like data.version) to values',
    })
    .optional(),
  command: text('expected a shell command').optional(),
  // 0 stands for "not set": the default depends on the kind of check (5s HTTP, 60s command).
  timeout: duration(0),
};

const smokeCheckSchema = z
  .strictObject(SMOKE_SHAPE, { error: 'expected a mapping with a path or a command' })
  .transform((check, ctx): SmokeCheck => {
    if (check.command !== undefined) {
      for (const key of ['path', 'method', 'status', 'bodyContains', 'json'] as const) {
        if (check[key] !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'a command check takes no HTTP fields; make it a separate check',
          });
        }
      }
      return { kind: 'command', command: check.command, timeoutMs: check.timeout || 60_000 };
    }
    if (check.path === undefined) {
      ctx.addIssue({
        code: 'invalid_type',
        expected: 'string',
        path: ['path'],
        message: 'expected a path (an HTTP check) or a command (a script check)',
      });
      return z.NEVER;
    }
    return {
      kind: 'http',
      path: check.path,
      method: check.method ?? 'GET',
      status: check.status ?? 200,
      bodyContains: check.bodyContains ?? null,
      json: check.json ?? {},
      timeoutMs: check.timeout || 5_000,
    };
  });

const STOP_SHAPE = {
  signal: z
    .enum(STOP_SIGNALS, { error: `expected one of ${STOP_SIGNALS.join(', ')}` })
    .default('SIGTERM'),
  timeout: duration(10_000),
};

const HEALTH_SHAPE = {
  path: urlPath().default('/'),
  interval: duration(1_000),
  timeout: duration(2_000),
  rise: integer(1, 100).default(2),
  fall: integer(1, 100).default(3),
  startTimeout: duration(30_000),
};

const WARMUP_SHAPE = {
  requests: integer(0, 1_000_000).default(0),
  duration: duration(0, { allowZero: true }),
  paths: z
    .array(urlPath(), { error: 'expected a list of URL paths' })
    .min(1, {
      error: 'expected at least one URL path',
    })
    .default(['/']),
  concurrency: integer(1, MAX_WARMUP_CONCURRENCY).default(4),
};

const failureThreshold = failureThresholdOf(0.01);

function failureThresholdOf(defaultFraction: number) {
  return z
    .unknown()
    .transform((value, ctx): number => {
      const percent = typeof value === 'string' ? /^(\d+(?:\.\d+)?)%$/.exec(value.trim()) : null;
      const fraction = percent?.[1] !== undefined ? Number(percent[1]) / 100 : value;
      if (typeof fraction === 'number' && fraction >= 0 && fraction <= 1) return fraction;
      ctx.addIssue({
        code: 'custom',
        message: 'expected a fraction from 0 to 1 or a percentage like 1%',
      });
      return z.NEVER;
    })
    .default(defaultFraction);
}

const SWITCH_SHAPE = {
  drainTimeout: duration(30_000),
  websocketGrace: duration(10_000, { allowZero: true }),
  probeWindow: duration(30_000, { allowZero: true }),
  probeInterval: duration(1_000),
  probePaths: z
    .array(urlPath(), { error: 'expected a list of URL paths' })
    .min(1, {
      error: 'expected at least one URL path',
    })
    .optional(),
  failureThreshold,
  autoRollback: z.boolean({ error: 'expected true or false' }).default(true),
};

const STANDBY_SHAPE = {
  rollbackWindow: duration(600_000, { allowZero: true }),
  after: z.enum(['keep', 'stop'], { error: 'expected keep or stop' }).default('stop'),
};

const COMPAT_SHAPE = {
  command: text('expected a shell command').optional(),
  smoke: z.boolean({ error: 'expected true or false' }).default(true),
  writes: text('expected the path of a SQL file, relative to the release directory').optional(),
};

const MIGRATIONS_SHAPE = {
  dir: text('expected a directory path').default('migrations/'),
  lockTimeout: duration(5_000),
  statementTimeout: duration(60_000, { allowZero: true }),
  retries: integer(0, 10).default(3),
  contract: z.enum(['auto', 'manual'], { error: 'expected auto or manual' }).default('auto'),
  compat: z.preprocess(
    (value) => (value === null ? undefined : value),
    z.strictObject(COMPAT_SHAPE, { error: 'expected a mapping of compat settings' }).prefault({}),
  ),
};

/** A literal URL is checked now; a { fromEnv } / { fromFile } one when the daemon reads it. */
const databaseUrlSchema = z.unknown().transform((value, ctx): EnvValue => {
  if (value === undefined) {
    ctx.addIssue({
      code: 'invalid_type',
      expected: 'string',
      message:
        'expected the database URL (postgres://..., sqlite:<path>), { fromEnv: NAME } or { fromFile: PATH }',
    });
    return z.NEVER;
  }
  const parsed = envValueSchema.safeParse(value);
  if (!parsed.success) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a URL, { fromEnv: NAME } or { fromFile: PATH }',
    });
    return z.NEVER;
  }
  if (parsed.data.kind === 'value') {
    const url = parseDatabaseUrl(parsed.data.value);
    // The message never echoes the URL: it may hold a password.
    if (url instanceof Error) ctx.addIssue({ code: 'custom', message: url.message });
  }
  return parsed.data;
});

/** `5%`, `5` or `0.5%`: a share of traffic, 0 < percent <= 100, two decimals at most. */
const percentSchema = z.unknown().transform((value, ctx): number => {
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)%$/.exec(value.trim()) : null;
  const percent = match?.[1] !== undefined ? Number(match[1]) : value;
  if (
    typeof percent === 'number' &&
    percent > 0 &&
    percent <= 100 &&
    Math.round(percent * 100) === percent * 100
  ) {
    return percent;
  }
  ctx.addIssue({
    code: 'custom',
    message: 'expected a share of traffic like 5% (more than 0, at most 100, two decimals at most)',
  });
  return z.NEVER;
});

const namedValue = (what: string) =>
  z.strictObject(
    {
      name: text(`expected the ${what} name`),
      value: z.string({ error: `expected the ${what} value the tester sends` }),
    },
    {
      error: `expected { name: ..., value: ... } of the ${what} that sends a tester to the canary`,
    },
  );

const CANARY_STEP_SHAPE = {
  weight: percentSchema,
  pause: duration(60_000, { allowZero: true }),
};

const ANALYSIS_SHAPE = {
  minRequests: integer(0, 10_000_000).default(50),
  maxErrorRate: failureThresholdOf(0.01),
  maxErrorRateIncrease: failureThresholdOf(0.005),
  maxP99: duration(0, { allowZero: true }),
  maxP99Ratio: z
    .number({ error: 'expected a ratio like 1.5 (canary p99 over live p99)' })
    .min(1, { error: 'expected a ratio of at least 1' })
    .optional(),
  maxWait: duration(300_000),
};

const CANARY_SHAPE = {
  steps: z
    .array(z.strictObject(CANARY_STEP_SHAPE, sectionError('canary step')), {
      error: 'expected a list of steps like - { weight: 5%, pause: 1m }',
    })
    .min(1, { error: 'expected at least one step' })
    .optional(),
  analysis: emptyAsUnset(z.strictObject(ANALYSIS_SHAPE, sectionError('analysis')).prefault({})),
  sticky: z.boolean({ error: 'expected true or false' }).default(true),
  allow: emptyAsUnset(
    z
      .strictObject(
        { header: namedValue('header').optional(), cookie: namedValue('cookie').optional() },
        sectionError('allow'),
      )
      .prefault({}),
  ),
  checks: emptyAsUnset(
    z.array(smokeCheckSchema, { error: 'expected a list of checks' }).default([]),
  ),
};

const ROLLING_SHAPE = {
  batch: integer(1, MAX_INSTANCES).default(1),
  pause: duration(10_000, { allowZero: true }),
};

const MIRROR_SHAPE = {
  enabled: z.boolean({ error: 'expected true or false' }).default(false),
  maxPerSecond: integer(1, 100_000).default(50),
  maxBodyBytes: integer(0, 16 * 1024 * 1024).default(64 * 1024),
};

const DRIFT_SHAPE = {
  expect: z
    .array(text('expected a snapshot key or glob, like env.APP_VERSION or files.*'), {
      error: 'expected a list of snapshot keys, like [env.APP_VERSION]',
    })
    .default([]),
  files: z
    .array(text('expected a file path, relative to the release directory'), {
      error: 'expected a list of file paths',
    })
    .default([]),
  interval: duration(60_000, { allowZero: true }),
  enforce: z.boolean({ error: 'expected true or false' }).default(true),
};

/** Steps when `canary.steps` is not given: 5 %, 25 %, 50 %, a minute each, then the flip. */
export const DEFAULT_CANARY_STEPS: readonly CanaryStep[] = [
  { percent: 5, pauseMs: 60_000 },
  { percent: 25, pauseMs: 60_000 },
  { percent: 50, pauseMs: 60_000 },
];

const DATABASE_SHAPE = {
  url: databaseUrlSchema,
  env: text(
    'expected the env var name the app reads its database URL from, like DATABASE_URL',
    ENV_NAME_PATTERN,
  )
    .refine((name) => !RESERVED_ENV_NAMES.has(name), {
      error: 'PORT is set by cutover for each instance; pick another name',
    })
    .default('DATABASE_URL'),
};

/** `health:` with every line under it commented out is YAML null: it means "all defaults". */
function emptyAsUnset<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

function sectionError(name: string): { error: string } {
  return { error: `expected a mapping of ${name} settings` };
}

const TOP_SHAPE = {
  app: text(
    'expected an app name: 1-63 lower-case letters, digits and dashes, like shop',
    APP_NAME_PATTERN,
  ),
  hosts: emptyAsUnset(
    z
      .array(
        z
          .string({ error: HOST_EXPECTED })
          .trim()
          .toLowerCase()
          .regex(HOST_PATTERN, { error: HOST_EXPECTED }),
        { error: 'expected a list of host names' },
      )
      .default([]),
  ),
  runtime: z
    .enum(['process', 'external'], { error: 'expected process or external' })
    .default('process'),
  start: text('expected the command that starts one instance, like node server.js').optional(),
  cwd: text('expected a directory path, relative to the release directory').default('.'),
  instances: integer(1, MAX_INSTANCES).default(1),
  env: emptyAsUnset(envSchema),
  stop: emptyAsUnset(z.strictObject(STOP_SHAPE, sectionError('stop')).prefault({})),
  health: emptyAsUnset(z.strictObject(HEALTH_SHAPE, sectionError('health')).prefault({})),
  smoke: emptyAsUnset(
    z.array(smokeCheckSchema, { error: 'expected a list of checks' }).default([]),
  ),
  warmup: emptyAsUnset(z.strictObject(WARMUP_SHAPE, sectionError('warmup')).prefault({})),
  switch: emptyAsUnset(z.strictObject(SWITCH_SHAPE, sectionError('switch')).prefault({})),
  standby: emptyAsUnset(z.strictObject(STANDBY_SHAPE, sectionError('standby')).prefault({})),
  rto: duration(1_000),
  database: emptyAsUnset(z.strictObject(DATABASE_SHAPE, sectionError('database')).optional()),
  migrations: emptyAsUnset(
    z.strictObject(MIGRATIONS_SHAPE, sectionError('migrations')).prefault({}),
  ),
  strategy: z
    .enum(STRATEGIES, { error: `expected one of ${STRATEGIES.join(', ')}` })
    .default('bluegreen'),
  canary: emptyAsUnset(z.strictObject(CANARY_SHAPE, sectionError('canary')).prefault({})),
  rolling: emptyAsUnset(z.strictObject(ROLLING_SHAPE, sectionError('rolling')).prefault({})),
  mirror: emptyAsUnset(z.strictObject(MIRROR_SHAPE, sectionError('mirror')).prefault({})),
  drift: emptyAsUnset(z.strictObject(DRIFT_SHAPE, sectionError('drift')).prefault({})),
};

/** The schema of the file as written (YAML keys); `validateAppConfig` gives the typed result. */
export const appConfigSchema = z.strictObject(TOP_SHAPE, {
  error: 'expected a mapping of settings, starting with app: NAME',
});

/** The keys each mapping accepts (`''` the top level), for "did you mean" and the docs test. */
export const APP_CONFIG_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(TOP_SHAPE),
  stop: Object.keys(STOP_SHAPE),
  health: Object.keys(HEALTH_SHAPE),
  smoke: Object.keys(SMOKE_SHAPE),
  warmup: Object.keys(WARMUP_SHAPE),
  switch: Object.keys(SWITCH_SHAPE),
  standby: Object.keys(STANDBY_SHAPE),
  database: Object.keys(DATABASE_SHAPE),
  migrations: Object.keys(MIGRATIONS_SHAPE),
  'migrations.compat': Object.keys(COMPAT_SHAPE),
  canary: Object.keys(CANARY_SHAPE),
  'canary.steps': Object.keys(CANARY_STEP_SHAPE),
  'canary.analysis': Object.keys(ANALYSIS_SHAPE),
  'canary.allow': ['header', 'cookie'],
  rolling: Object.keys(ROLLING_SHAPE),
  mirror: Object.keys(MIRROR_SHAPE),
  drift: Object.keys(DRIFT_SHAPE),
};

/** Validates parsed YAML (plain JS values) and fills every default. */
export function validateAppConfig(input: unknown): AppConfigResult {
  const parsed = appConfigSchema.safeParse(input);
  const issues = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) => toIssues(issue, input));
  const raw = isRecord(input) ? input : {};
  const runtime = raw.runtime ?? 'process';
  if (isRecord(input) && runtime === 'process' && raw.start === undefined) {
    issues.push({
      path: ['start'],
      field: 'start',
      kind: 'missing',
      message:
        'missing; the process runtime needs the command that starts one instance, like node server.js',
    });
  }
  if (
    isRecord(raw.warmup) &&
    raw.warmup.requests !== undefined &&
    raw.warmup.duration !== undefined
  ) {
    issues.push({
      path: ['warmup', 'duration'],
      field: 'warmup.duration',
      kind: 'invalid',
      message: 'expected requests or duration, not both',
    });
  }
  const databaseEnv = isRecord(raw.database) ? (raw.database.env ?? 'DATABASE_URL') : undefined;
  if (typeof databaseEnv === 'string' && isRecord(raw.env) && databaseEnv in raw.env) {
    issues.push({
      path: ['env', databaseEnv],
      field: `env.${databaseEnv}`,
      kind: 'invalid',
      message: `set by cutover from database.url (database.env is ${databaseEnv}); remove it here`,
    });
  }
  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  const data = parsed.data;
  return {
    ok: true,
    config: {
      app: data.app,
      hosts: data.hosts,
      runtime: data.runtime,
      start: data.start ?? null,
      cwd: data.cwd,
      instances: data.instances,
      env: data.env,
      stop: { signal: data.stop.signal, timeoutMs: data.stop.timeout },
      health: {
        path: data.health.path,
        intervalMs: data.health.interval,
        timeoutMs: data.health.timeout,
        rise: data.health.rise,
        fall: data.health.fall,
        startTimeoutMs: data.health.startTimeout,
      },
      smoke: data.smoke,
      warmup: {
        requests: data.warmup.requests,
        durationMs: data.warmup.duration,
        paths: data.warmup.paths,
        concurrency: data.warmup.concurrency,
      },
      switch: {
        drainTimeoutMs: data.switch.drainTimeout,
        websocketGraceMs: data.switch.websocketGrace,
        probeWindowMs: data.switch.probeWindow,
        probeIntervalMs: data.switch.probeInterval,
        // By default the switch window probes what the health check probes.
        probePaths: data.switch.probePaths ?? [data.health.path],
        failureThreshold: data.switch.failureThreshold,
        autoRollback: data.switch.autoRollback,
      },
      standby: { rollbackWindowMs: data.standby.rollbackWindow, after: data.standby.after },
      rtoMs: data.rto,
      database:
        data.database === undefined ? null : { url: data.database.url, env: data.database.env },
      migrations: {
        dir: data.migrations.dir,
        lockTimeoutMs: data.migrations.lockTimeout,
        statementTimeoutMs: data.migrations.statementTimeout,
        retries: data.migrations.retries,
        contract: data.migrations.contract,
        compat: {
          command: data.migrations.compat.command ?? null,
          smoke: data.migrations.compat.smoke,
          ...(data.migrations.compat.writes === undefined
            ? {}
            : { writes: data.migrations.compat.writes }),
        },
      },
      strategy: data.strategy,
      canary: {
        steps:
          data.canary.steps?.map((step) => ({ percent: step.weight, pauseMs: step.pause })) ??
          DEFAULT_CANARY_STEPS,
        analysis: {
          minRequests: data.canary.analysis.minRequests,
          maxErrorRate: data.canary.analysis.maxErrorRate,
          maxErrorRateIncrease: data.canary.analysis.maxErrorRateIncrease,
          maxP99Ms: data.canary.analysis.maxP99 === 0 ? null : data.canary.analysis.maxP99,
          maxP99Ratio: data.canary.analysis.maxP99Ratio ?? null,
          maxWaitMs: data.canary.analysis.maxWait,
        },
        sticky: data.canary.sticky,
        allow: {
          header: data.canary.allow.header ?? null,
          cookie: data.canary.allow.cookie ?? null,
        },
        checks: data.canary.checks,
      },
      rolling: { batch: data.rolling.batch, pauseMs: data.rolling.pause },
      mirror: {
        enabled: data.mirror.enabled,
        maxPerSecond: data.mirror.maxPerSecond,
        maxBodyBytes: data.mirror.maxBodyBytes,
      },
      drift: {
        expect: data.drift.expect,
        files: data.drift.files,
        intervalMs: data.drift.interval,
        enforce: data.drift.enforce,
      },
    },
  };
}

function toIssues(issue: z.core.$ZodIssue, input: unknown): AppConfigIssue[] {
  const path = issue.path.filter((key) => typeof key !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = APP_CONFIG_KEYS[sectionOf(path)] ?? [];
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      const guess = closestKey(key, known);
      return {
        path: keyPath,
        field: formatField(keyPath),
        kind: 'unknown' as const,
        message:
          guess === undefined
            ? `unknown key; expected one of ${known.join(', ')}`
            : `unknown key; did you mean "${guess}"?`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    return [
      {
        path,
        field: formatField(path),
        kind: 'invalid',
        message: issue.issues[0]?.message ?? issue.message,
      },
    ];
  }
  const missing = issue.code === 'invalid_type' && valueAt(input, path) === undefined;
  return [
    {
      path,
      field: formatField(path),
      kind: missing ? 'missing' : 'invalid',
      message: missing ? `missing; ${issue.message}` : issue.message,
    },
  ];
}

/** `smoke[2]` and `smoke` share the keys of a smoke check; others are named by their keys. */
function sectionOf(path: readonly (string | number)[]): string {
  return path.filter((key) => typeof key === 'string').join('.');
}

export function formatField(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`))
    .join('');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The known key within edit distance 2 (or a case-only difference) of the unknown one. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance =
      candidate.toLowerCase() === key.toLowerCase()
        ? 0
        : editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (
      distance <= Math.min(2, Math.floor(candidate.length / 2)) &&
      (best === undefined || distance < best.distance)
    ) {
      best = { key: candidate, distance };
    }
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
