// `cutover flip <app> [--to blue|green] [--wait-drain]`: the manual flip to the other color.
import { Option } from 'commander';
import type { Command } from 'commander';
import type { Color } from '../../core/types.ts';
import { COLORS } from '../../core/types.ts';
import type { CliContext } from '../cli-context.ts';
import { describeFlip } from '../format-flip.ts';
import { parsePositiveInteger } from '../parse-lists.ts';

interface FlipFlags {
  readonly to?: Color;
  readonly waitDrain?: boolean;
  readonly ifMatch?: number;
}

export function registerFlipCommand(program: Command, ctx: CliContext): void {
  program
    .command('flip')
    .description('flip the app to its other color (which must be healthy); the old color drains')
    .argument('<app>', 'the app to flip')
    .addOption(
      new Option('--to <color>', 'the color to make live (default: the other one)').choices(COLORS),
    )
    .option('--wait-drain', 'return only once the old color has drained, and report the drain')
    .option(
      '--if-match <revision>',
      'refuse if the state revision changed since it was read',
      (v) => parsePositiveInteger(v, '--if-match', Number.MAX_SAFE_INTEGER),
    )
    .action(async (app: string, flags: FlipFlags, command: Command) => {
      const result = await ctx.client(command).flip(
        app,
        {
          ...(flags.to === undefined ? {} : { to: flags.to }),
          waitDrain: flags.waitDrain === true,
        },
        flags.ifMatch === undefined ? {} : { ifMatch: flags.ifMatch },
      );
      ctx.print(command, result, () => describeFlip(result, 'flipped'));
    });
}
