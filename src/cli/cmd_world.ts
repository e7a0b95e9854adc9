/**
 * `pktpath world show`: print what was loaded from a snapshot or lab.
 */
import { Command } from 'commander';
import { action } from './run.js';
import { loadWorld } from '../stack/world_load.js';
import { formatWorld } from '../trace/format_world.js';

/** Register the command. */
export function register(program: Command): void {
  const world = program.command('world').description('inspect a world (snapshot directory or lab file)');
  world
    .command('show')
    .description('print the loaded world: addresses, routes, rules, neighbours, bridges, ruleset summary, sockets, edges')
    .requiredOption('-w, --world <dir|lab>', 'snapshot directory or lab file')
    .option('--allow-unsupported', 'turn refusals of unmodellable constructs into warnings')
    .addHelpText('after', `
Examples:
  pktpath world show --world captures/oracle-policy-routing/world
  pktpath world show --world ./snap | less`)
    .action(action(async (o: { world: string; allowUnsupported?: boolean }) => {
      process.stdout.write(formatWorld(loadWorld(o.world, { allowUnsupported: Boolean(o.allowUnsupported) })));
    }));
}
