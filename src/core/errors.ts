// The error registry: every error cutover reports has a stable code, an HTTP status for the
// admin API, a CLI exit code, and a message that says what to do. docs/errors.md lists them
// all; a test keeps the two in step.

export interface ErrorDefinition {
  /** HTTP status the admin API answers with. */
  readonly status: number;
  /** CLI exit code: 1 refused or failed, 2 usage error. */
  readonly exitCode: 1 | 2;
  /** What it means, for docs/errors.md. */
  readonly description: string;
}

export const ERROR_CODES = {
  CUTOVER_ERR_USAGE: {
    status: 400,
    exitCode: 2,
    description: 'A command or request was malformed: a missing or invalid argument.',
  },
  CUTOVER_ERR_CONFIG_INVALID: {
    status: 400,
    exitCode: 2,
    description:
      'A configuration value is invalid; the message names the field and what was expected.',
  },
  CUTOVER_ERR_CONFIG_EXISTS: {
    status: 409,
    exitCode: 1,
    description: '`cutover init` found a cutover.yaml already there and left it unchanged.',
  },
  CUTOVER_ERR_CONFIG_WRITE_FAILED: {
    status: 500,
    exitCode: 1,
    description:
      'A config file could not be written (permissions, disk full); the message names the file and the reason.',
  },
  CUTOVER_ERR_APP_NOT_FOUND: {
    status: 404,
    exitCode: 1,
    description: 'No app of that name is known to the daemon.',
  },
  CUTOVER_ERR_APP_HOSTS_CONFLICT: {
    status: 409,
    exitCode: 1,
    description:
      'A host name is already routed to another app, or a second catch-all app (no hosts) was declared.',
  },
  CUTOVER_ERR_APP_LOCKED: {
    status: 409,
    exitCode: 1,
    description:
      'Another deployment or flip of this app is in progress; the message names the holder.',
  },
  CUTOVER_ERR_STATE_CONFLICT: {
    status: 412,
    exitCode: 1,
    description:
      'The state changed since it was read (If-Match revision is stale); read it again and retry.',
  },
  CUTOVER_ERR_STATE_CORRUPT: {
    status: 500,
    exitCode: 1,
    description: 'A stored record could not be read; only the app it belongs to is affected.',
  },
  CUTOVER_ERR_STATE_UNAVAILABLE: {
    status: 503,
    exitCode: 1,
    description:
      'The state store could not be written (disk full, read-only, locked); nothing was changed.',
  },
  CUTOVER_ERR_HEALTH_FAILED: {
    status: 422,
    exitCode: 1,
    description: 'Instances did not pass their health checks in time; nothing was flipped.',
  },
  CUTOVER_ERR_FLIP_NO_TARGET: {
    status: 409,
    exitCode: 1,
    description: 'The color to flip to holds no release.',
  },
  CUTOVER_ERR_FLIP_UNHEALTHY: {
    status: 422,
    exitCode: 1,
    description:
      'The color to flip to is not healthy; the flip was refused and live traffic is unchanged.',
  },
  CUTOVER_ERR_FLIP_FAILED: {
    status: 500,
    exitCode: 1,
    description: 'The routing change could not be committed; the previous live color still serves.',
  },
  CUTOVER_ERR_ROLLBACK_NO_STANDBY: {
    status: 409,
    exitCode: 1,
    description: 'There is no standby color to roll back to (never deployed twice, or retired).',
  },
  CUTOVER_ERR_DEPLOY_INVALID_EVENT: {
    status: 409,
    exitCode: 1,
    description:
      "A report does not apply to the deployment's current step (out of order or repeated); the deployment state is unchanged.",
  },
  CUTOVER_ERR_DEPLOY_ENDED: {
    status: 409,
    exitCode: 1,
    description: 'The deployment has already ended (succeeded, failed, aborted or rolled back).',
  },
  CUTOVER_ERR_DEPLOY_ABORT_TOO_LATE: {
    status: 409,
    exitCode: 1,
    description:
      'The deployment is past its verify window or already rolling back, so it can no longer be aborted.',
  },
  CUTOVER_ERR_DEPLOY_NOT_FOUND: {
    status: 404,
    exitCode: 1,
    description: 'No deployment has that id, or the app has no deployment running.',
  },
  CUTOVER_ERR_DEPLOY_NOT_SHIFTING: {
    status: 409,
    exitCode: 1,
    description:
      'Promote applies only to a deployment that shifts traffic in steps (a canary), while it does; the app has none at that step.',
  },
  CUTOVER_ERR_DEPLOY_FAILED: {
    status: 409,
    exitCode: 1,
    description:
      'The deployment ended without the release going live (a step failed, it was aborted, or a probe flipped it back); the message names the step and why.',
  },
  CUTOVER_ERR_DRILL_FAILED: {
    status: 409,
    exitCode: 1,
    description:
      'A rollback drill did not pass: the standby failed its probes, a request failed, or the recovery time exceeded the objective.',
  },
  CUTOVER_ERR_DRIFT_FOUND: {
    status: 409,
    exitCode: 1,
    description:
      '`cutover drift` found drift: a snapshot key differs between the colors, or on the live color since it started, and no `drift.expect` glob or `--accept-drift` covers it.',
  },
  CUTOVER_ERR_MIGRATION_STANDBY_ALIVE: {
    status: 409,
    exitCode: 1,
    description:
      'Contract migrations wait until no running color uses the old schema: a standby still exists (retire it, or wait for its rollback window).',
  },
  CUTOVER_ERR_ROLLBACK_INCOMPATIBLE: {
    status: 409,
    exitCode: 1,
    description:
      'A contract migration ran after the standby was placed: the standby may no longer work with the schema, so rollback is refused.',
  },
  CUTOVER_ERR_DAEMON_UNREACHABLE: {
    status: 503,
    exitCode: 1,
    description:
      'The CLI could not reach the daemon: start `cutover daemon` or pass the same --data-dir.',
  },
  CUTOVER_ERR_DAEMON_ALREADY_RUNNING: {
    status: 409,
    exitCode: 1,
    description:
      'Another cutover daemon already runs on this data dir (the message names its pid): stop it, or pass another --data-dir.',
  },
  CUTOVER_ERR_DAEMON_LISTEN_FAILED: {
    status: 500,
    exitCode: 1,
    description:
      'The daemon could not listen on an address (in use by another process, or not allowed); the message names the flag to change.',
  },
  CUTOVER_ERR_ADMIN_UNAUTHORIZED: {
    status: 401,
    exitCode: 1,
    description: 'The admin API needs a bearer token on TCP; it was missing or wrong.',
  },
  CUTOVER_ERR_ADMIN_FORBIDDEN: {
    status: 403,
    exitCode: 1,
    description: 'The request came with a foreign Host or Origin and was refused.',
  },
  CUTOVER_ERR_ADMIN_UNSUPPORTED_MEDIA: {
    status: 415,
    exitCode: 2,
    description: 'A mutation must send Content-Type: application/json.',
  },
  CUTOVER_ERR_ADMIN_BODY_TOO_LARGE: {
    status: 413,
    exitCode: 2,
    description: 'The request body is larger than the admin API accepts.',
  },
  CUTOVER_ERR_ADMIN_NOT_FOUND: {
    status: 404,
    exitCode: 2,
    description: 'No admin API route matches the method and path.',
  },
  CUTOVER_ERR_HTTP_BAD_REQUEST: {
    status: 400,
    exitCode: 1,
    description:
      'Data plane: the request broke HTTP/1.1 framing or header rules (RFC 9112) and was refused before reaching any app.',
  },
  CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE: {
    status: 431,
    exitCode: 1,
    description:
      'Data plane: the request head was larger or had more headers than the router accepts.',
  },
  CUTOVER_ERR_HTTP_TIMEOUT: {
    status: 408,
    exitCode: 1,
    description: 'Data plane: the client was too slow sending its request head or body.',
  },
  CUTOVER_ERR_ROUTE_UNKNOWN_HOST: {
    status: 421,
    exitCode: 1,
    description: 'Data plane: no app is routed for the Host and there is no catch-all app.',
  },
  CUTOVER_ERR_ROUTE_NO_LIVE: {
    status: 503,
    exitCode: 1,
    description: 'Data plane: the app has no live color yet (public) or no idle release (preview).',
  },
  CUTOVER_ERR_UPSTREAM_UNAVAILABLE: {
    status: 503,
    exitCode: 1,
    description: 'Data plane: every instance of the color is down.',
  },
  CUTOVER_ERR_UPSTREAM_CONNECT: {
    status: 502,
    exitCode: 1,
    description: 'Data plane: the instance refused or reset the connection before answering.',
  },
  CUTOVER_ERR_UPSTREAM_BAD_RESPONSE: {
    status: 502,
    exitCode: 1,
    description: 'Data plane: the instance sent a malformed response.',
  },
  CUTOVER_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    exitCode: 1,
    description: 'Data plane: the instance did not answer within the upstream timeout.',
  },
  CUTOVER_ERR_DRAIN_DEADLINE: {
    status: 504,
    exitCode: 1,
    description:
      'Data plane: the request was still running on a drained color when the drain timeout ended.',
  },
  CUTOVER_ERR_MIGRATION_CHECKSUM: {
    status: 409,
    exitCode: 1,
    description:
      'An applied migration file was changed since it ran (its checksum differs from the history table); nothing was applied. The message names the file.',
  },
  CUTOVER_ERR_MIGRATION_FAILED: {
    status: 422,
    exitCode: 1,
    description:
      'A migration failed (an SQL error, or a lock still held after every retry); the message names the file, the statement and, for a file outside a transaction, which statements already ran.',
  },
  CUTOVER_ERR_DATABASE_UNREACHABLE: {
    status: 503,
    exitCode: 1,
    description:
      'The app database could not be opened (wrong URL, server down, missing file or permissions); nothing was migrated.',
  },
  CUTOVER_ERR_DEMO_FAILED: {
    status: 500,
    exitCode: 1,
    description:
      'The demo could not run to its end (a process it started failed, or it was interrupted); it stopped everything it started.',
  },
  CUTOVER_ERR_MIGRATION_PARSE: {
    status: 400,
    exitCode: 2,
    description:
      "A migration file could not be parsed (SQL the PostgreSQL parser refuses, or a bad cutover: header tag); the message names the file, the line and the parser's message.",
  },
  CUTOVER_ERR_MIGRATION_READ: {
    status: 400,
    exitCode: 2,
    description:
      'A migration file or the migrations folder could not be read (missing, or not allowed); the message names the path.',
  },
  CUTOVER_ERR_DNS_NOT_AUTHORIZED: {
    status: 502,
    exitCode: 1,
    description:
      'The DNS server rejected the TSIG key of a dynamic update (NOTAUTH with BADKEY, BADSIG or BADTIME); the record was not changed.',
  },
  CUTOVER_ERR_DNS_REFUSED: {
    status: 502,
    exitCode: 1,
    description:
      'The DNS server refused a dynamic update (REFUSED): the zone does not allow updates from this key; the record was not changed.',
  },
  CUTOVER_ERR_DNS_UNREACHABLE: {
    status: 504,
    exitCode: 1,
    description:
      'The DNS server did not answer a dynamic update in time (over UDP nor TCP); the record was not changed, or its change is unknown.',
  },
  CUTOVER_ERR_DNS_UPDATE_FAILED: {
    status: 502,
    exitCode: 1,
    description:
      'The DNS server answered a dynamic update with an error (SERVFAIL, NOTZONE, NOTAUTH for a zone it does not serve, ...) or with a response whose signature does not check; the message names the response code.',
  },
  CUTOVER_ERR_INTERNAL: {
    status: 500,
    exitCode: 1,
    description: 'An unexpected error; the daemon log has the details. Please report it.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type cutover throws for anything a user can act on. */
export class CutoverError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'CutoverError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exitCode;
  }
}

export function isCutoverError(error: unknown): error is CutoverError {
  return error instanceof CutoverError;
}

/** The one JSON error shape of the admin API. */
export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details?: Record<string, unknown>;
  };
}

export function toErrorBody(error: CutoverError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: { ...error.details } }),
    },
  };
}
