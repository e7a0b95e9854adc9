/**
 * `pktpath rss "tcp 66.9.149.187:2794 > 161.142.100.80:1766"`: the Toeplitz hash a NIC computes for a
 * flow, and the rx queue and CPU it selects (src/workers/rss.ts).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseIpv4, parseIpv6 } from '../stack/wire/decode.js';
import { DEFAULT_INDIR_SIZE, MS_RSS_KEY, Rss, SYMMETRIC_KEY, parseKeyHex, queueConfigFromSnapshot, type RssOptions } from '../workers/rss.js';
import { action, parsePositiveInt } from './run.js';

/** A parsed flow: family, addresses, ports (ports null for `ip`). */
export interface RssTuple {
  text: string;
  proto: 'tcp' | 'udp' | 'sctp' | 'ip';
  v6: boolean;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number | null;
  dport: number | null;
}

const EXAMPLE = 'e.g. "tcp 66.9.149.187:2794 > 161.142.100.80:1766", "udp [2001:db8::1]:53 > [2001:db8::2]:5353" or "ip 10.0.0.1 > 10.0.0.2"';

/** Parse `PROTO SRC > DST`. Throws UsageError with an example. */
export function parseTuple(text: string): RssTuple {
  const m = /^\s*(tcp|udp|sctp|ip)\s+(\S+)\s*(?:>|->)\s*(\S+)\s*$/i.exec(text);
  if (!m) throw new UsageError(`"${text}": expected "PROTO SRC > DST" with PROTO tcp, udp, sctp or ip; ${EXAMPLE}.`);
  const proto = m[1]!.toLowerCase() as RssTuple['proto'];
  const withPorts = proto !== 'ip';
  const a = endpoint(m[2]!, withPorts, text);
  const b = endpoint(m[3]!, withPorts, text);
  if (a.v6 !== b.v6) throw new UsageError(`"${text}": source and destination are of different address families.`);
  return { text: `${proto} ${m[2]} > ${m[3]}`, proto, v6: a.v6, src: a.addr, dst: b.addr, sport: a.port, dport: b.port };
}

function endpoint(s: string, withPorts: boolean, text: string): { v6: boolean; addr: Uint8Array; port: number | null } {
  let host = s, portText: string | null = null;
  const br = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (br) {
    host = br[1]!;
    portText = br[2] ?? null;
  } else if (!s.includes(':') || /^[\d.]+:[^:]*$/.test(s)) {
    const i = s.lastIndexOf(':');
    if (i >= 0) { host = s.slice(0, i); portText = s.slice(i + 1); }
  } else if (withPorts) {
    throw new UsageError(`"${text}": write an IPv6 address with a port as [ADDR]:PORT, e.g. [2001:db8::1]:80.`);
  }
  let addr: Uint8Array | null = null, v6 = false;
  const v4 = parseIpv4(host);
  if (!Number.isNaN(v4)) addr = Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  else if (host.includes(':')) {
    const b = new Uint8Array(16);
    if (parseIpv6(host, b, 0)) { addr = b; v6 = true; }
  }
  if (addr === null) throw new UsageError(`"${text}": "${host}" is not an IPv4 or IPv6 address.`);
  if (withPorts && portText === null) throw new UsageError(`"${text}": ${s} has no port; use ADDR:PORT (or "ip SRC > DST" for the address-only hash).`);
  if (!withPorts && portText !== null) throw new UsageError(`"${text}": "ip" hashes addresses only; drop the port from ${s} or use tcp/udp.`);
  let port: number | null = null;
  if (portText !== null) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new UsageError(`"${text}": port "${portText}" is not a number from 0 to 65535.`);
  }
  return { v6, addr, port };
}

/** Result of one tuple. */
export interface RssResult {
  tuple: string;
  /** Toeplitz input bytes, hex. */
  input: string;
  hash: string;
  queue: number;
  queues: number;
  indirIndex: number;
  indirSize: number;
  cpu: number;
  cpus: number;
  /** RPS target CPU, or null when RPS is off for the queue. */
  rpsCpu: number | null;
}

/** Hash one tuple with `rss`. */
export function rssLookup(rss: Rss, t: RssTuple): RssResult {
  const withPorts = t.sport !== null;
  const need = (t.v6 ? 32 : 8) + (withPorts ? 4 : 0) + 4;
  if (rss.toeplitz.key.length < need) {
    throw new UsageError(`the key has ${rss.toeplitz.key.length} bytes; hashing this ${t.v6 ? 'IPv6' : 'IPv4'} tuple needs ${need} (input bytes + 4).`);
  }
  const hash = t.v6
    ? rss.hash6(t.src, t.dst, t.sport ?? 0, t.dport ?? 0, withPorts)
    : rss.hash4(word(t.src), word(t.dst), t.sport ?? 0, t.dport ?? 0, withPorts);
  const input = [...t.src, ...t.dst];
  if (withPorts) input.push(t.sport! >>> 8, t.sport! & 255, t.dport! >>> 8, t.dport! & 255);
  const queue = rss.queueOf(hash);
  const rps = rss.rpsCpuOf(queue, hash);
  return {
    tuple: t.text,
    input: input.map((b) => b.toString(16).padStart(2, '0')).join(' '),
    hash: '0x' + hash.toString(16).padStart(8, '0'),
    queue, queues: rss.queues,
    indirIndex: hash % rss.indir.length, indirSize: rss.indir.length,
    cpu: rss.cpuOf(queue), cpus: rss.cpus,
    rpsCpu: rps < 0 ? null : rps,
  };
}

function word(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** Text form of one result. */
export function formatRss(r: RssResult): string {
  return (
    `${r.tuple}\n` +
    `  input  ${r.input}\n` +
    `  hash   ${r.hash}\n` +
    `  queue  ${r.queue} of ${r.queues} (indirection entry ${r.indirIndex} of ${r.indirSize})\n` +
    `  cpu    ${r.cpu} of ${r.cpus}${r.rpsCpu !== null ? `, RPS to cpu ${r.rpsCpu}` : ''}\n`
  );
}

interface RssCliOptions {
  queues?: number;
  cpus?: number;
  key?: string;
  symmetric?: boolean;
  indirSize?: number;
  world?: string;
  dev?: string;
  json?: boolean;
}

/** Build the Rss the options describe. */
export function rssFromOptions(o: RssCliOptions): { rss: Rss; notes: string[] } {
  if (o.key !== undefined && o.symmetric) throw new UsageError('--key and --symmetric both choose the key; give one of them.');
  let key: Uint8Array | undefined;
  if (o.key !== undefined) {
    const k = parseKeyHex(o.key);
    if (k === null) throw new UsageError(`--key "${o.key}" is not hex bytes (write 6d:5a:56:… or 6d5a56…).`);
    if (k.length < 16) throw new UsageError(`--key has ${k.length} bytes; an RSS key needs at least 16 (40 for IPv6 with ports).`);
    key = k;
  } else if (o.symmetric) key = SYMMETRIC_KEY;
  if ((o.world === undefined) !== (o.dev === undefined)) throw new UsageError('--world and --dev go together: --world SNAPSHOT --dev NS:DEV.');
  if (o.world !== undefined) {
    const m = /^([^:]+):(.+)$/.exec(o.dev!);
    if (!m) throw new UsageError(`--dev "${o.dev}": expected NS:DEV, e.g. host:eth0.`);
    const cfg = queueConfigFromSnapshot(o.world, m[1]!, m[2]!, { key, queues: o.queues, cpus: o.cpus });
    if (o.indirSize !== undefined) throw new UsageError('--indir-size cannot be combined with --world (the snapshot gives the table).');
    return { rss: mk(cfg.rss), notes: cfg.sources };
  }
  const queues = o.queues ?? 1;
  const opts: RssOptions = { queues, cpus: o.cpus ?? queues, key: key ?? MS_RSS_KEY };
  if (o.indirSize !== undefined) opts.indir = Array.from({ length: o.indirSize }, (_, i) => i % queues);
  return { rss: mk(opts), notes: [] };
}

function mk(o: RssOptions): Rss {
  try {
    return new Rss(o);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`${err.message}.`);
    throw err;
  }
}

/** Register `rss`. */
export function register(program: Command): void {
  program
    .command('rss')
    .description('the RSS (Toeplitz) hash of a flow, and the rx queue and CPU it selects')
    .argument('<tuple...>', '"PROTO SRC > DST": tcp|udp|sctp with ADDR:PORT ([ADDR]:PORT for IPv6), or ip with addresses only')
    .option('--queues <n>', 'rx queues (default 1, or the snapshot\'s)', parsePositiveInt)
    .option('--cpus <n>', 'CPUs; queue q is served by CPU q mod n (default: one per queue)', parsePositiveInt)
    .option('--key <hex>', 'Toeplitz key, 6d:5a:56:… (default: the Microsoft verification key)')
    .option('--symmetric', 'use the symmetric key 6d:5a repeated (both directions on one queue)')
    .option('--indir-size <n>', `indirection table entries (default ${DEFAULT_INDIR_SIZE}, filled i mod queues)`, parsePositiveInt)
    .option('--world <dir>', 'read key, indirection table, IRQ affinity and RPS from a snapshot (with --dev)')
    .option('--dev <ns:dev>', 'the snapshot device, e.g. host:eth0')
    .option('--json', 'print a JSON array with one object per tuple')
    .addHelpText('after', `
Examples:
  $ pktpath rss "tcp 66.9.149.187:2794 > 161.142.100.80:1766"          # hash 0x51ccc178
  $ pktpath rss --queues 4 "ip 66.9.149.187 > 161.142.100.80"           # hash 0x323e8fc2
  $ pktpath rss --symmetric --queues 8 "udp [2001:db8::1]:53 > [2001:db8::2]:5353"
  $ pktpath rss --world snap --dev host:eth0 "tcp 10.0.0.1:40000 > 10.0.0.2:443"

The hash is the Toeplitz hash of source address, destination address and (for tcp, udp, sctp)
source and destination port, in network byte order, as NICs compute it for RSS. The queue is
indirection[hash mod table size]; the CPU is the one that serves that queue's interrupt.`)
    .action(action((tuples: string[], opts: RssCliOptions) => {
      const parsed = tuples.map(parseTuple);
      const { rss, notes } = rssFromOptions(opts);
      const results = parsed.map((t) => rssLookup(rss, t));
      if (opts.json) {
        process.stdout.write(JSON.stringify(results, null, 2) + '\n');
        return;
      }
      process.stdout.write(results.map(formatRss).join(''));
      if (notes.length > 0) process.stderr.write(`pktpath: rss: ${notes.join('; ')}\n`);
    }));
}
