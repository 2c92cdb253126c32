// `cutover rollback <app> [--wait-drain]`: flip back to the standby color.
import type { Command } from 'commander';
import { CutoverError, isCutoverError } from '../../core/errors.ts';
import type { CliContext } from '../cli-context.ts';
import { describeFlip } from '../format-flip.ts';
import { parsePositiveInteger } from '../parse-lists.ts';

interface RollbackFlags {
  readonly waitDrain?: boolean;
  readonly ifMatch?: number;
}

export function registerRollbackCommand(program: Command, ctx: CliContext): void {
  program
    .command('rollback')
    .description('flip back to the standby color (the previous live release, kept warm)')
    .argument('<app>', 'the app to roll back')
    .option('--wait-drain', 'return only once the old color has drained, and report the drain')
    .option(
      '--if-match <revision>',
      'refuse if the state revision changed since it was read',
      (v) => parsePositiveInteger(v, '--if-match', Number.MAX_SAFE_INTEGER),
    )
    .action(async (app: string, flags: RollbackFlags, command: Command) => {
      const result = await ctx
        .client(command)
        .rollback(
          app,
          { waitDrain: flags.waitDrain === true },
          flags.ifMatch === undefined ? {} : { ifMatch: flags.ifMatch },
        )
        .catch((error: unknown) => rethrowWithHint(error, app));
      ctx.print(command, result, () => describeFlip(result, 'rolled back'));
    });
}

/** The daemon says why there is no standby; the CLI adds what to run instead. */
export function rethrowWithHint(error: unknown, app: string): never {
  if (!isCutoverError(error) || error.code !== 'CUTOVER_ERR_ROLLBACK_NO_STANDBY') throw error;
  throw new CutoverError(
    'CUTOVER_ERR_ROLLBACK_NO_STANDBY',
    `${error.message.replace(/\.$/, '')}; to go back, deploy the previous release again: ` +
      `\`cutover deploy <release> --dir <its folder>\` (\`cutover history ${app} --deployments\` lists them)`,
    error.details,
  );
}
