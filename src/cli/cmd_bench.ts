/**
 * `pktpath bench`: the benchmarks of `npm run bench` from the CLI: capture reading against
 * pcap-parser, decode against tcpdump, replay with and without a trace, and the queue model for
 * 1..N workers, each as ratios measured in the same run.
 */
import { Command } from 'commander';
import { action, parsePositiveInt } from './run.js';
import { runBenches, BENCH_NAMES } from '../bench/run.js';

/** Register the command. */
export function register(program: Command): void {
  program
    .command('bench')
    .description(`throughput benchmarks on synthetic captures (${BENCH_NAMES.join(', ')})`)
    .argument('[name...]', 'benchmarks to run (default: all)')
    .option('-n, --packets <n>', 'synthetic packets per benchmark', parsePositiveInt, 1_000_000)
    .addHelpText('after', `
Examples:
  pktpath bench                      # everything, 1M packets each (a few minutes)
  pktpath bench replay queue -n 200000`)
    .action(action(async (names: string[], o: { packets: number }) => {
      process.stdout.write(await runBenches(names, o.packets, (s) => process.stderr.write(s)));
    }));
}
