// Checks what the process runtime is asked to start before anything runs, so bad input is
// refused naming the field and what to do, not discovered as a crash loop.
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { CutoverError } from '../../../core/errors.ts';
import type { ProcessStartSpec } from '../../../ports/runtime.ts';

/** App names become directory names under the state dir: no `/`, no `..`. */
export const APP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_INSTANCES = 64;

function usage(message: string, field: string): CutoverError {
  return new CutoverError('CUTOVER_ERR_USAGE', message, { field });
}

/** `host:port`, with an IPv6 host in brackets (RFC 3986 §3.2.2). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The number in the first instance's name (`StartRequest.firstIndex`): a whole number from 1. */
export function firstIndexOf(request: { readonly firstIndex?: number }): number {
  const first = request.firstIndex ?? 1;
  if (!Number.isInteger(first) || first < 1) {
    throw usage(`firstIndex must be a whole number from 1, got ${first}.`, 'firstIndex');
  }
  return first;
}

export async function validateStartSpec(
  app: string,
  spec: ProcessStartSpec | undefined,
): Promise<ProcessStartSpec> {
  if (!APP_NAME_PATTERN.test(app)) {
    throw usage(`The app name "${app}" must be letters, digits, ".", "_" or "-".`, 'app');
  }
  if (spec === undefined) {
    throw usage(`The process runtime needs a start command and a directory for ${app}.`, 'start');
  }
  if (spec.command.trim() === '') {
    throw usage('The start command is empty: set `start:` in cutover.yaml.', 'start');
  }
  if (!Number.isInteger(spec.instances) || spec.instances < 1 || spec.instances > MAX_INSTANCES) {
    throw usage(
      `instances must be a whole number from 1 to ${MAX_INSTANCES}, got ${spec.instances}.`,
      'instances',
    );
  }
  if (spec.stopSignal !== undefined && !(spec.stopSignal in constants.signals)) {
    throw usage(
      `The stop signal "${spec.stopSignal}" is not a signal name: use one like SIGTERM, SIGINT or SIGQUIT.`,
      'stop.signal',
    );
  }
  if (spec.stopTimeoutMs !== undefined && !(spec.stopTimeoutMs >= 0)) {
    throw usage(
      `The stop timeout must be 0 or more ms, got ${spec.stopTimeoutMs}.`,
      'stop.timeout',
    );
  }
  const isDir = await stat(spec.dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw usage(`The release directory ${spec.dir} does not exist or is not a directory.`, 'dir');
  }
  return spec;
}
