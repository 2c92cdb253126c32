// `cutover history [app] [--limit N]`: deployments, flips, rollbacks, drains and audited mutations.
import type { Command } from 'commander';
import type { HistoryEntry } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';
import { parsePositiveInteger } from '../parse-lists.ts';

const DEFAULT_LIMIT = 20;
// The admin API caps one page of history at 1000 events.
const MAX_LIMIT = 1_000;

export function registerHistoryCommand(program: Command, ctx: CliContext): void {
  program
    .command('history')
    .description('list the timeline: deployments, flips, rollbacks, drains, audited mutations')
    .argument('[app]', 'only this app')
    .option('--limit <n>', `show the last N events (default ${DEFAULT_LIMIT})`, (v) =>
      parsePositiveInteger(v, '--limit', MAX_LIMIT),
    )
    .action(async (app: string | undefined, flags: { limit?: number }, command: Command) => {
      const result = await ctx
        .client(command)
        .history({ ...(app === undefined ? {} : { app }), limit: flags.limit ?? DEFAULT_LIMIT });
      ctx.print(command, result, () => formatHistory(result.events));
    });
}

export function formatHistory(events: readonly HistoryEntry[]): string {
  if (events.length === 0) return 'no history yet';
  return formatTable(
    ['id', 'at', 'app', 'event', 'details'],
    events.map((event) => [
      String(event.id),
      event.at,
      event.app,
      event.type,
      summarize(event.data),
    ]),
  );
}

function summarize(data: Readonly<Record<string, unknown>>): string {
  return Object.entries(data)
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  // Durations arrive as raw floats; a tenth of a millisecond is plenty for people.
  if (typeof value === 'number' && !Number.isInteger(value))
    return String(Math.round(value * 10) / 10);
  return JSON.stringify(value);
}
