#!/usr/bin/env node
/**
 * pktpath command line. Each command lives in its own cmd_*.ts file and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { exitCodeFor, setDebug } from './run.js';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

type Register = (program: Command) => void;

const COMMANDS: Array<() => Promise<{ register: Register }>> = [
  () => import('./cmd_replay.js'),
  () => import('./cmd_conntrack.js'),
  () => import('./cmd_world.js'),
  () => import('./cmd_explain.js'),
  () => import('./cmd_decode.js'),
  () => import('./cmd_synth.js'),
  () => import('./cmd_info.js'),
  () => import('./cmd_snapshot.js'),
  () => import('./cmd_rss.js'),
  () => import('./cmd_bench.js'),
  () => import('./cmd_verify.js'),
];

async function main(): Promise<void> {
  const program = new Command('pktpath')
    .description('Replay packet captures through a model of the Linux network stack.')
    .version(pkg.version, '-V, --version')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.hook('preAction', (cmd) => setDebug(Boolean(cmd.optsWithGlobals().debug)));
  for (const load of COMMANDS) (await load()).register(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; everything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}

// A reader that went away (`pktpath replay --help | head`) is not an error: stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main().catch((err) => {
  // Option parsers throw UsageError for bad values: bad usage (2), like commander's own refusals.
  process.stderr.write(`pktpath: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = exitCodeFor(err);
});
