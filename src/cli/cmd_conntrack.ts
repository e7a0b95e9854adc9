/**
 * `pktpath conntrack`: replay captures and print the conntrack tables the way `conntrack -L` does.
 */
import { Command } from 'commander';
import { action } from './run.js';
import { loadWorld } from '../stack/world_load.js';
import { parseInputArg, runReplay } from '../workers/replay.js';
import { conntrackText } from '../trace/conntrack_dump.js';
import { parseTime } from './cmd_replay.js';

/** Register the command. */
export function register(program: Command): void {
  program
    .command('conntrack')
    .description('replay captures and print the conntrack tables like `conntrack -L` (at the end, or at --at-time)')
    .argument('<capture...>', 'capture files as FILE@NS:DEV (see `pktpath replay --help`)')
    .requiredOption('-w, --world <dir|lab>', 'snapshot directory or lab file')
    .option('--at-time <t>', 'capture time (epoch seconds) of the table to print', parseTime)
    .option('--allow-unsupported', 'turn refusals of unmodellable rules into warnings')
    .option('--no-checksums', 'do not verify checksums')
    .addHelpText('after', `
Examples:
  pktpath conntrack --world captures/oracle-docker-egress/world captures/oracle-docker-egress/inputs/eth0.pcap@host:eth0 captures/oracle-docker-egress/inputs/vethc1.pcap@host:vethc1
  pktpath conntrack --world ./snap in.pcap@host:eth0 --at-time 1795815900.5`)
    .action(action(async (captures: string[], o: { world: string; atTime?: number; allowUnsupported?: boolean; checksums: boolean }) => {
      const world = loadWorld(o.world, { allowUnsupported: Boolean(o.allowUnsupported) });
      let text = '';
      runReplay(world, captures.map(parseInputArg), {
        datapath: { verifyChecksums: o.checksums, trace: false, allowUnsupported: Boolean(o.allowUnsupported), seed: 1 },
        limit: 0,
        onRecord: () => {},
        atTime: o.atTime,
        onAtTime: (dp) => {
          text = conntrackText(dp);
        },
      });
      process.stdout.write(text);
    }));
}
