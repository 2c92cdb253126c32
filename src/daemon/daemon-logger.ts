// The daemon's pino logger: JSON lines to stdout or a file. Tokens and authorization headers are
// redacted wherever they appear (QUALITY.md D5: no secret in any log).
import { pino, type Logger } from 'pino';
import type { LogLevel } from './daemon-options.ts';

export const REDACTED_PATHS = [
  'token',
  'adminToken',
  'authorization',
  '*.token',
  '*.adminToken',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
];

export interface DaemonLogger {
  readonly logger: Logger;
  /** Writes out buffered lines; call before exiting. */
  readonly flush: () => void;
}

export function createDaemonLogger(level: LogLevel, logFile: string | null): DaemonLogger {
  const destination = pino.destination({
    dest: logFile ?? 1,
    sync: logFile === null,
    mkdir: logFile !== null,
    mode: 0o600,
  });
  const logger = pino(
    {
      level,
      base: { pid: process.pid, name: 'cutover' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  return {
    logger,
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // Nothing left to write (or the stream is gone): exiting anyway.
      }
    },
  };
}
