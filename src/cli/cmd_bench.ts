/**
 * `pktpath bench`: the benchmarks of `npm run bench` from the CLI: capture reading against
 * pcap-parser, decode against tcpdump, replay with and without a trace, and the queue model for
 * 1..N workers, each as ratios measured in the same run.
 */
import { Command } from 'commander';
import { action, parsePositiveInt } from './run.js';
import { runBenches, BENCH_NAMES } from '../bench/run.js';
import { ROUTER_WORKLOAD, ingressDevices, type Workload } from '../bench/workload.js';
import { parseNet } from './cmd_synth.js';
import { UsageError } from '../errors.js';

interface BenchOpts {
  packets: number;
  world?: string;
  ingress?: string;
  flows: number;
  client?: { net: number; prefix: number };
  server?: { net: number; prefix: number };
}

/** Register the command. */
export function register(program: Command): void {
  program
    .command('bench')
    .description(`throughput benchmarks on synthetic captures (${BENCH_NAMES.join(', ')})`)
    .argument('[name...]', 'benchmarks to run (default: all)')
    .option('-n, --packets <n>', 'synthetic packets per benchmark', parsePositiveInt, 1_000_000)
    .option('-w, --world <dir|lab>', 'world the replay and queue benchmarks run through (default: captures/labs/router.yaml)')
    .option('--ingress <ns:dev[,ns:dev]>', 'where the traffic enters: one device, or two (client-sourced frames into the first, the rest into the second)')
    .option('--flows <n>', 'conversations open at once', parsePositiveInt, 1000)
    .option('--client <net>', 'client address pool (default: 198.51.100.0/24)', parseNet)
    .option('--server <net>', 'server address pool (default: 203.0.113.0/24)', parseNet)
    .addHelpText('after', `
Examples:
  pktpath bench                      # everything, 1M packets each (a few minutes)
  pktpath bench replay queue -n 200000
  pktpath bench replay --world ./snap --ingress host:eth0 --client 198.51.100.0/24 --server 172.17.0.0/16 --flows 20000`)
    .action(action(async (names: string[], o: BenchOpts) => {
      if (o.ingress !== undefined && o.world === undefined) throw new UsageError('--ingress needs --world (the router lab has its own ingress devices)');
      if (o.world !== undefined && o.ingress === undefined) throw new UsageError('--world needs --ingress NS:DEV[,NS:DEV]: where the synthetic traffic enters that world');
      const wl: Workload = {
        ...ROUTER_WORKLOAD,
        ...(o.world !== undefined ? { world: o.world, ingress: o.ingress!.split(',').map((x) => x.trim()) } : {}),
        flows: o.flows,
        ...(o.client ? { clientNet: o.client.net, clientPrefix: o.client.prefix } : {}),
        ...(o.server ? { serverNet: o.server.net, serverPrefix: o.server.prefix } : {}),
      };
      ingressDevices(wl); // bad world or device: fail before running anything
      process.stdout.write(await runBenches(names, o.packets, (s) => process.stderr.write(s), wl));
    }));
}
