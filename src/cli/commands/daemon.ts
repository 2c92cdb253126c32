// `cutover daemon` is listed here for help only: bin/cutover.js runs the daemon itself, so the CLI
// never imports the daemon (DESIGN.md dependency rules).
import type { Command } from 'commander';
import { CutoverError } from '../../core/errors.ts';

export function registerDaemonHelpEntry(program: Command): void {
  program
    .command('daemon')
    .description(
      'run the router, the controller and the admin API in the foreground (`cutover daemon --help`)',
    )
    .helpOption(false)
    .configureHelp({ showGlobalOptions: false })
    .addHelpText(
      'after',
      '\nIts options (--public, --preview, --admin-tcp, ...): `cutover daemon --help`.',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CutoverError(
        'CUTOVER_ERR_USAGE',
        'run the daemon through the cutover executable (`cutover daemon`, or `node bin/cutover.js daemon`)',
      );
    });
}
