// `cutover status [app]`: colors, releases, instances with health, live color, in-flight, flips.
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { formatApp, formatStatus } from '../format-status.ts';

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description(
      'show each app: colors, releases, instance health, the live color, in-flight, last flips',
    )
    .argument('[app]', 'only this app')
    .action(async (app: string | undefined, _flags: unknown, command: Command) => {
      const client = ctx.client(command);
      if (app === undefined) {
        const status = await client.status();
        ctx.print(command, status, () => formatStatus(status));
      } else {
        const status = await client.app(app);
        ctx.print(command, status, () => formatApp(status));
      }
    });
}
