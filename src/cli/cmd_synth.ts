/**
 * `pktpath synth`: write a seeded synthetic capture (TCP, UDP, ICMP, ARP, fragments, SYN floods).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../errors.js';
import { parseMix, synthesize, SYNTH_DEFAULTS, type SynthOptions } from '../pcap/synth.js';
import { PcapngWriter, PcapWriter } from '../pcap/writer.js';
import { parseIpv4 } from '../stack/wire/decode.js';
import { action, parseNonNegative, parsePositiveInt } from './run.js';

interface SynthCliOptions {
  output: string;
  packets: number;
  flows: number;
  rate: number;
  format?: 'pcap' | 'pcapng';
  nanosecond?: boolean;
  client: { net: number; prefix: number };
  server: { net: number; prefix: number };
  mix: SynthOptions['mix'];
  seed: number;
  start: number;
}

const HELP_AFTER = `
Conversations (each a script of packets, interleaved with the other open ones):
  tcp       SYN, SYN-ACK, ACK, 1-3 request/response/ACK rounds, FIN, FIN, ACK (MSS, SACK, TS, wscale)
  udp       request and response (ports 53, 123, 514, 5353, 1194)
  icmp      1-3 echo request/reply pairs
  arp       who-has request (broadcast) and reply between two clients
  frag      a UDP or ICMP datagram of 1500-4000 bytes as IPv4 fragments (MTU 1500)
  synflood  a burst of 8-32 SYNs from random clients and ports to one server port, no replies
The mix weights are shares of packets, not of conversations. Every checksum is correct. The same
options and --seed give a byte-identical file.

Examples:
  pktpath synth -o demo.pcap                               1000 packets, default mix
  pktpath synth -o big.pcapng --packets 1000000 --flows 5000 --rate 100000
  pktpath synth -o flood.pcap --mix tcp=50,synflood=50 --seed 7
  pktpath synth --mix frag=1 --packets 20 -o - | pktpath decode -`;

/** commander argParser for an IPv4 pool `A.B.C.D/P` (P 8..30). */
export function parseNet(value: string): { net: number; prefix: number } {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(value);
  const addr = m ? parseIpv4(m[1]) : NaN;
  const prefix = m ? Number(m[2]) : NaN;
  if (Number.isNaN(addr) || !(prefix >= 8 && prefix <= 30)) {
    throw new InvalidArgumentError('expected an IPv4 network A.B.C.D/P with P from 8 to 30.');
  }
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { net: (addr & mask) >>> 0, prefix };
}

function parseMixArg(value: string): SynthOptions['mix'] {
  try {
    return parseMix(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
}

function parseFormatArg(value: string): 'pcap' | 'pcapng' {
  if (value !== 'pcap' && value !== 'pcapng') throw new InvalidArgumentError('expected pcap or pcapng.');
  return value;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected an integer from 0 to 4294967295.');
  return n;
}

/** Register `synth` on the program. */
export function register(program: Command): void {
  program
    .command('synth')
    .summary('write a seeded synthetic capture')
    .description('Write a synthetic Ethernet capture: TCP conversations, UDP, ICMP echo, ARP, IPv4 fragments and SYN floods over many flows.')
    .requiredOption('-o, --output <file>', 'capture to write; - for stdout')
    .option('--packets <n>', 'packets to write', parsePositiveInt, SYNTH_DEFAULTS.packets)
    .option('--flows <n>', 'conversations open at once', parsePositiveInt, SYNTH_DEFAULTS.flows)
    .option('--rate <pps>', 'packets per second (sets the timestamps)', parseNonNegative, SYNTH_DEFAULTS.rate)
    .option('--format <format>', 'pcap or pcapng (default: from the file name, else pcap)', parseFormatArg)
    .option('--nanosecond', 'nanosecond timestamps (pcap; pcapng always has them)')
    .addOption(new Option('--client <net>', 'client address pool').argParser(parseNet)
      .default({ net: SYNTH_DEFAULTS.clientNet, prefix: SYNTH_DEFAULTS.clientPrefix }, '198.51.100.0/24'))
    .addOption(new Option('--server <net>', 'server address pool').argParser(parseNet)
      .default({ net: SYNTH_DEFAULTS.serverNet, prefix: SYNTH_DEFAULTS.serverPrefix }, '203.0.113.0/24'))
    .addOption(new Option('--mix <weights>', 'shares of packets per kind; kinds not named get 0').argParser(parseMixArg)
      .default(SYNTH_DEFAULTS.mix, 'tcp=60,udp=25,icmp=10,arp=5,frag=0,synflood=0'))
    .option('--seed <n>', 'PRNG seed', parseSeed, SYNTH_DEFAULTS.seed)
    .option('--start <epoch>', 'timestamp of the first packet, in seconds since 1970', parseNonNegative, SYNTH_DEFAULTS.startSec)
    .addHelpText('after', HELP_AFTER)
    .action(action((opts: SynthCliOptions) => {
      if (!(opts.rate > 0)) throw new UsageError('--rate must be greater than 0.');
      if (!Number.isInteger(opts.start) || opts.start > 0xffffffff) throw new UsageError('--start must be a whole number of seconds below 2^32.');
      if (opts.output === '-' && process.stdout.isTTY) {
        throw new UsageError('refusing to write a binary capture to a terminal; give -o FILE or pipe the output.');
      }
      const format = opts.format ?? (opts.output.endsWith('.pcapng') ? 'pcapng' : 'pcap');
      const so: SynthOptions = {
        seed: opts.seed, packets: opts.packets, flows: opts.flows, rate: opts.rate, startSec: opts.start,
        clientNet: opts.client.net, clientPrefix: opts.client.prefix,
        serverNet: opts.server.net, serverPrefix: opts.server.prefix, mix: opts.mix,
      };
      const w = format === 'pcapng'
        ? new PcapngWriter(opts.output)
        : new PcapWriter(opts.output, { nanosecond: Boolean(opts.nanosecond), linktype: 1 });
      try {
        synthesize(so, w);
      } catch (err) {
        w.abort();
        if (err instanceof TypeError) throw new UsageError(err.message);
        throw err;
      }
      w.close();
    }));
}
