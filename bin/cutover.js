#!/usr/bin/env node
// The cutover entry point. `cutover daemon` runs the composition root (router, controller,
// admin API in one process); every other command is a thin client of the daemon's admin API.
import module from 'node:module';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `cutover needs Node.js >= 22.13 (this is ${process.version}). ` +
      'Run it through npm (`npm run cutover -- ...`, which uses the pinned Node 24) or install Node 24.\n',
  );
  process.exit(2);
}
// Cache V8's code and the TypeScript stripped of its types between runs (keyed by each file's
// content, so an edited file is never served stale): a cold start of the CLI spent about 110 ms
// loading and stripping our .ts files. NODE_COMPILE_CACHE picks another directory and
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; a directory that cannot be written only costs speed.
module.enableCompileCache?.();
if (process.argv[2] === 'daemon') {
  const { runDaemonCli } = await import('../src/daemon/main.ts');
  await runDaemonCli(process.argv.slice(3));
} else {
  const { runCli } = await import('../src/cli/main.ts');
  process.exitCode = await runCli(process.argv.slice(2));
}
