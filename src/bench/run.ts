/**
 * `npm run bench`: runs the benchmarks and prints one table.
 *
 *   node dist/bench/run.js [NAME...] [--packets N]
 *
 * NAME picks benchmarks by name (default: all); --packets scales the workload (default 1,000,000).
 * To add a benchmark, append it to BENCHES.
 */
import { benchPcap, type BenchResult } from './pcap_bench.js';
import { benchReplay } from './replay_bench.js';
import { benchDecode } from './decode_bench.js';
import { benchQueue } from './queue_bench.js';
import { benchWorld } from './world_bench.js';
import { ROUTER_WORKLOAD, type Workload } from './workload.js';

interface Bench { name: string; run: (packets: number, workload: Workload) => Promise<BenchResult[]> }

const BENCHES: Bench[] = [
  { name: 'pcap', run: (packets) => benchPcap({ packets }) },
  { name: 'world', run: () => benchWorld() },
  { name: 'decode', run: (packets) => benchDecode({ packets }) },
  { name: 'replay', run: (packets, workload) => benchReplay({ packets, workload }) },
  { name: 'queue', run: (packets, workload) => benchQueue({ packets, workload }) },
];

function formatValue(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}

/** Run the named benchmarks (all when empty) and return the table as text. */
export async function runBenches(names: string[], packets: number, log: (s: string) => void = () => {}, workload: Workload = ROUTER_WORKLOAD): Promise<string> {
  const chosen = names.length === 0 ? BENCHES : BENCHES.filter((b) => names.includes(b.name));
  if (chosen.length === 0) throw new Error(`no benchmark named ${names.join(', ')}; have ${BENCHES.map((b) => b.name).join(', ')}`);
  const rows: string[][] = [];
  for (const b of chosen) {
    log(`running ${b.name}...\n`);
    for (const r of await b.run(packets, workload)) rows.push([b.name, r.name, formatValue(r.value), r.unit]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), ['bench', 'measure', 'value'][c]!.length));
  const line = (r: string[]): string =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]}`;
  return [line(['bench', 'measure', 'value', 'unit']), ...rows.map(line)].join('\n') + '\n';
}

/** The names of the benchmarks. */
export const BENCH_NAMES = BENCHES.map((b) => b.name);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let packets = 1_000_000;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--packets') {
      packets = Number(args[++i]);
      if (!Number.isInteger(packets) || packets <= 0) throw new Error('--packets needs a positive integer');
    } else {
      names.push(args[i]!);
    }
  }
  process.stdout.write(await runBenches(names, packets, (s) => process.stderr.write(s)));
}

// Run only as the `npm run bench` entry point, not when imported by `pktpath bench`.
if (process.argv[1] && process.argv[1].endsWith('run.js')) {
  main().catch((err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
