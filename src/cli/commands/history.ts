// `cutover history [app] [--limit N] [--deployments]`: the timeline of flips, rollbacks, drains,
// deployment steps and audited mutations; with --deployments, one block per deployment (per-step
// durations, probe results, outcome) and the drills.
import type { Command } from 'commander';
import type { HistoryEntry } from '../../client/api-types.ts';
import type { CliContext } from '../cli-context.ts';
import { formatDeploymentHistory } from '../format-deployment-history.ts';
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
    .option(
      '--deployments',
      'list deployments (steps, durations, probes, outcome) and drills instead of the events',
    )
    .action(async (app: string | undefined, flags: HistoryFlags, command: Command) => {
      const client = ctx.client(command);
      const query = { ...(app === undefined ? {} : { app }), limit: flags.limit ?? DEFAULT_LIMIT };
      if (flags.deployments === true) {
        const result = await client.listDeployments(query);
        // Drills are history events; a page of the latest events holds the recent ones.
        const events = await client.history({ ...query, limit: MAX_LIMIT });
        const drills = events.events
          .filter((event) => event.type === 'drill')
          .slice(-query.limit)
          .reverse();
        ctx.print(command, result, () => formatDeploymentHistory(result.deployments, drills));
        return;
      }
      const result = await client.history(query);
      ctx.print(command, result, () => formatHistory(result.events));
    });
}

interface HistoryFlags {
  readonly limit?: number;
  readonly deployments?: boolean;
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
