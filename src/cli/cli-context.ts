// What every command gets: where to print, and the admin client built from the global options
// (--data-dir / --admin-url / --admin-token, each with its CUTOVER_* environment fallback).
import type { Command } from 'commander';
import { createAdminClient } from '../client/admin-client.ts';
import type { AdminClient } from '../client/admin-client.ts';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether `out` is a terminal (live progress redraws a line); default false. */
  readonly isTTY?: boolean;
  /** The terminal's width when `out` is one. */
  readonly columns?: number | undefined;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) instead of the default exit; returns the unsubscribe.
   * Default: none (tests); the CLI process passes its own.
   */
  onInterrupt?(handler: () => void): () => void;
}

/** Exit codes: 0 ok, 1 refused or failed, 2 usage error, 130 interrupted by Ctrl-C (128 + SIGINT). */
export type ExitCode = 0 | 1 | 2 | 130;

export interface GlobalOptions {
  readonly dataDir: string;
  readonly adminUrl?: string;
  readonly adminToken?: string;
  readonly json: boolean;
}

export interface CliContext {
  readonly io: CliIo;
  globals(command: Command): GlobalOptions;
  client(command: Command): AdminClient;
  /** Prints the API's JSON with --json, else the human text. */
  print(command: Command, result: unknown, human: () => string): void;
  /** For a command that printed its result but did not succeed (the demo counting failures). */
  setExitCode(code: ExitCode): void;
  readonly exitCode: ExitCode;
}

export function createCliContext(io: CliIo): CliContext {
  const globals = (command: Command): GlobalOptions => {
    const opts = command.optsWithGlobals<Partial<GlobalOptions>>();
    return {
      dataDir: opts.dataDir ?? '.cutover',
      ...(opts.adminUrl === undefined ? {} : { adminUrl: opts.adminUrl }),
      ...(opts.adminToken === undefined ? {} : { adminToken: opts.adminToken }),
      json: opts.json === true,
    };
  };
  let exitCode: ExitCode = 0;
  return {
    io,
    setExitCode(code) {
      exitCode = code;
    },
    get exitCode() {
      return exitCode;
    },
    globals,
    client(command) {
      const options = globals(command);
      return options.adminUrl === undefined
        ? createAdminClient({ dataDir: options.dataDir })
        : createAdminClient({ url: options.adminUrl, token: options.adminToken });
    },
    print(command, result, human) {
      if (globals(command).json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      else io.out(`${human()}\n`);
    },
  };
}
