/**
 * Receive-side scaling: which NIC rx queue, which CPU, and (with RPS) which backlog a flow lands on.
 *
 *   frame ──Toeplitz(key, saddr‖daddr[‖sport‖dport])──► hash ──indir[hash % 128]──► rx queue
 *         rx queue ──IRQ affinity──► CPU that runs its NAPI poll (net_rx_action)
 *         rx queue ──rps_cpus mask──► cpus[reciprocal_scale(hash, n)] (get_rps_cpu) → that CPU's backlog
 *
 * The hash is the one in the Microsoft RSS specification ("Verifying the RSS Hash Calculation") and the
 * Intel 82599 datasheet §7.1.2.8; datapath-facts.md §6 lists the verification vectors we reproduce.
 * Linux drivers use a random per-boot 52-byte key (netdev_rss_key_fill); we default to the published
 * one so that results are reproducible, and read the real key from `ethtool -x` when a snapshot has it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** The Microsoft verification key (40 bytes), also the default of many NICs' datasheets. */
export const MS_RSS_KEY: Uint8Array = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

/**
 * 0x6d5a repeated (40 bytes): the key whose 16-bit period makes hash(a,b,p,q) = hash(b,a,q,p), so both
 * directions of a flow land on one queue (Woo & Park, "Scalable TCP Session Monitoring with Symmetric
 * Receive-side Scaling", 2012).
 */
export const SYMMETRIC_KEY: Uint8Array = Uint8Array.from({ length: 40 }, (_, i) => (i & 1 ? 0x5a : 0x6d));

/** Size of the default indirection table (ETH_RSS_HASH… drivers commonly use 128 entries). */
export const DEFAULT_INDIR_SIZE = 128;

/** Longest Toeplitz input we hash: IPv6 source + destination + two ports. */
const MAX_INPUT = 36;

/**
 * Toeplitz hash with one 256-entry table per input byte position: table[i][v] is the XOR of the 32-bit
 * key windows for the set bits of byte value v at position i. A 12-byte IPv4 tuple is 12 lookups and
 * 11 XORs, no allocation: 7 ns per hash4() against 205 ns for the bit-by-bit loop (Node 20, this
 * project's 2-vCPU CI machine, 5M hashes).
 */
export class Toeplitz {
  /** The key as given. */
  readonly key: Uint8Array;
  private readonly table: Uint32Array;

  constructor(key: Uint8Array) {
    if (key.length < 4) throw new RangeError('an RSS key needs at least 4 bytes');
    this.key = Uint8Array.from(key);
    // Bits past the end of the key count as zero (a 16-byte key hashes IPv4 tuples only).
    const k = new Uint8Array(MAX_INPUT + 4);
    k.set(key.subarray(0, Math.min(key.length, k.length)));
    this.table = new Uint32Array(MAX_INPUT * 256);
    for (let i = 0; i < MAX_INPUT; i++) {
      const hi = ((k[i]! << 24) | (k[i + 1]! << 16) | (k[i + 2]! << 8) | k[i + 3]!) >>> 0;
      const next = k[i + 4]!;
      const win = new Uint32Array(8); // win[b]: the window that starts at bit b of byte i (b = 0 is the MSB)
      for (let b = 0; b < 8; b++) win[b] = (b === 0 ? hi : ((hi << b) | (next >>> (8 - b)))) >>> 0;
      const base = i * 256;
      for (let v = 1; v < 256; v++) {
        // v's lowest set bit is bit (7 - b) in MSB-first numbering; reuse the entry without it.
        const low = v & -v;
        const b = 7 - (31 - Math.clz32(low));
        this.table[base + v] = (this.table[base + (v ^ low)]! ^ win[b]!) >>> 0;
      }
    }
  }

  /** Hash `len` bytes of `input` from `off` (network order). */
  hashBytes(input: Uint8Array, off: number, len: number): number {
    const t = this.table;
    let h = 0;
    for (let i = 0; i < len; i++) h ^= t[(i << 8) | input[off + i]!]!;
    return h >>> 0;
  }

  /** Hash the big-endian u32 `v` as input bytes pos..pos+3. */
  word(v: number, pos: number): number {
    const t = this.table, b = pos << 8;
    return (t[b | (v >>> 24)]! ^ t[(b + 256) | ((v >>> 16) & 255)]! ^ t[(b + 512) | ((v >>> 8) & 255)]! ^ t[(b + 768) | (v & 255)]!) >>> 0;
  }

  /** Hash the big-endian u16 `v` as input bytes pos..pos+1. */
  half(v: number, pos: number): number {
    const t = this.table, b = pos << 8;
    return (t[b | ((v >>> 8) & 255)]! ^ t[(b + 256) | (v & 255)]!) >>> 0;
  }
}

/** How an RSS instance is set up: key, queues, indirection, IRQ and RPS CPUs. */
export interface RssOptions {
  /** Toeplitz key; default MS_RSS_KEY. */
  key?: Uint8Array;
  /** Number of rx queues (channels); default 1. */
  queues?: number;
  /** Indirection table (queue per entry); default `i % queues` over DEFAULT_INDIR_SIZE entries. */
  indir?: readonly number[];
  /** Number of CPUs; default: as many as queues. */
  cpus?: number;
  /** CPU that serves each queue's IRQ; default queue q → CPU q % cpus (round-robin). */
  queueCpus?: readonly number[];
  /** RPS CPU list per queue (empty or missing: no RPS for that queue). */
  rps?: ReadonlyArray<readonly number[] | undefined>;
}

/** RSS for one device: hash → queue → CPU, plus RPS steering. */
export class Rss {
  readonly toeplitz: Toeplitz;
  readonly queues: number;
  readonly cpus: number;
  readonly indir: Uint16Array;
  /** queue → IRQ CPU. */
  readonly queueCpu: Int32Array;
  /** queue → RPS CPUs (length 0: RPS off). */
  readonly rpsCpus: Int32Array[];

  constructor(opts: RssOptions = {}) {
    const queues = opts.queues ?? 1;
    if (!Number.isInteger(queues) || queues < 1 || queues > 65536) throw new RangeError(`queue count ${queues} is not between 1 and 65536`);
    this.queues = queues;
    this.toeplitz = new Toeplitz(opts.key ?? MS_RSS_KEY);
    const indir = opts.indir ?? Array.from({ length: DEFAULT_INDIR_SIZE }, (_, i) => i % queues);
    if (indir.length === 0) throw new RangeError('the indirection table is empty');
    this.indir = new Uint16Array(indir.length);
    indir.forEach((q, i) => {
      if (!Number.isInteger(q) || q < 0 || q >= queues) throw new RangeError(`indirection entry ${i} names queue ${q}, but there are ${queues} queues`);
      this.indir[i] = q;
    });
    const cpus = opts.cpus ?? queues;
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`CPU count ${cpus} is not a positive integer`);
    this.cpus = cpus;
    this.queueCpu = new Int32Array(queues);
    for (let q = 0; q < queues; q++) {
      const c = opts.queueCpus?.[q] ?? q % cpus;
      if (!Number.isInteger(c) || c < 0 || c >= cpus) throw new RangeError(`queue ${q} is served by CPU ${c}, but there are ${cpus} CPUs`);
      this.queueCpu[q] = c;
    }
    this.rpsCpus = [];
    for (let q = 0; q < queues; q++) {
      const list = opts.rps?.[q] ?? [];
      for (const c of list) if (!Number.isInteger(c) || c < 0 || c >= cpus) throw new RangeError(`rps_cpus of queue ${q} names CPU ${c}, but there are ${cpus} CPUs`);
      this.rpsCpus.push(Int32Array.from(list));
    }
  }

  /** Toeplitz hash of an IPv4 tuple (addresses as u32, ports as u16); ports only when `withPorts`. */
  hash4(src: number, dst: number, sport: number, dport: number, withPorts: boolean): number {
    const t = this.toeplitz;
    let h = t.word(src >>> 0, 0) ^ t.word(dst >>> 0, 4);
    if (withPorts) h ^= t.half(sport, 8) ^ t.half(dport, 10);
    return h >>> 0;
  }

  /** Toeplitz hash of an IPv6 tuple (16-byte addresses at the given offsets). */
  hash6(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, withPorts: boolean, srcOff = 0, dstOff = 0): number {
    const t = this.toeplitz;
    let h = 0;
    for (let i = 0; i < 16; i += 4) {
      h ^= t.word(((src[srcOff + i]! << 24) | (src[srcOff + i + 1]! << 16) | (src[srcOff + i + 2]! << 8) | src[srcOff + i + 3]!) >>> 0, i);
      h ^= t.word(((dst[dstOff + i]! << 24) | (dst[dstOff + i + 1]! << 16) | (dst[dstOff + i + 2]! << 8) | dst[dstOff + i + 3]!) >>> 0, 16 + i);
    }
    if (withPorts) h ^= t.half(sport, 32) ^ t.half(dport, 34);
    return h >>> 0;
  }

  /** The rx queue for a hash: indir[hash mod table size] (the low bits, as NICs index it). */
  queueOf(hash: number): number {
    return this.indir[(hash >>> 0) % this.indir.length]!;
  }

  /** The CPU that serves a queue's interrupt and runs its NAPI poll. */
  cpuOf(queue: number): number {
    return this.queueCpu[queue]!;
  }

  /**
   * The RPS target CPU for a packet received on `queue`, or -1 when RPS is off for it.
   * Mirrors net/core/dev.c get_rps_cpu(): map->cpus[reciprocal_scale(hash, map->len)].
   */
  rpsCpuOf(queue: number, hash: number): number {
    const list = this.rpsCpus[queue]!;
    if (list.length === 0) return -1;
    return list[reciprocalScale(hash, list.length)]!;
  }
}

/** include/linux/kernel.h reciprocal_scale(): (u32)(((u64)val * ep_ro) >> 32). */
export function reciprocalScale(val: number, epRo: number): number {
  // val < 2^32 and epRo < 2^21 keep the product below 2^53, so the float math is exact.
  return Math.floor(((val >>> 0) * epRo) / 4294967296);
}

/** Parse a key given as hex: `6d:5a:56:…`, `6d-5a-…` or `6d5a56…`. Null when malformed. */
export function parseKeyHex(s: string): Uint8Array | null {
  const t = s.trim();
  const hex = /[:-]/.test(t) ? (/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2})*$/.test(t) ? t.replace(/[:-]/g, '') : '') : t;
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** What `ethtool -l`, `-x` and `-g` told about one device (fields null when not shown). */
export interface EthtoolInfo {
  /** Current rx ring size (`-g`, "Current hardware settings: RX"). */
  rxRing: number | null;
  /** Maximum rx ring size (`-g`, "Pre-set maximums: RX"). */
  rxRingMax: number | null;
  /** Current combined + rx channels (`-l`). */
  rxChannels: number | null;
  /** Indirection table (`-x`). */
  indir: number[] | null;
  /** RSS key (`-x`). */
  key: Uint8Array | null;
  /** Enabled hash function name (`-x`, e.g. "toeplitz"). */
  hfunc: string | null;
}

/**
 * Parse a snapshot's `ethtool/<dev>.txt`: sections headed `# ethtool -l|-x|-g <dev>`, each the
 * verbatim command output. The formats are ethtool's (ethtool.c dump_channels / do_grxfh /
 * dump_ring); ethtool has no JSON for these in the versions we target.
 */
export function parseEthtool(text: string, file = 'ethtool.txt'): EthtoolInfo {
  const info: EthtoolInfo = { rxRing: null, rxRingMax: null, rxChannels: null, indir: null, key: null, hfunc: null };
  let section = '';
  let part: 'max' | 'cur' | '' = '';
  let inKey = false, inFunc = false;
  const indir: number[] = [];
  let lineNo = 0;
  let rxCh = 0, combinedCh = 0, sawCh = false;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trimEnd();
    const m = /^# ethtool (-[lxg])\b/.exec(line);
    if (m) { section = m[1]!; part = ''; inKey = false; inFunc = false; continue; }
    if (/^Pre-set maximums/.test(line)) { part = 'max'; continue; }
    if (/^Current hardware settings/.test(line)) { part = 'cur'; continue; }
    const kv = /^\s*([A-Za-z ]+):\s*(\S+)\s*$/.exec(line);
    if (section === '-g' && kv && kv[1] === 'RX') {
      const n = Number(kv[2]);
      if (Number.isInteger(n) && n > 0) {
        if (part === 'max') info.rxRingMax = n;
        else if (part === 'cur') info.rxRing = n;
      }
    } else if (section === '-l' && kv && part === 'cur' && (kv[1] === 'RX' || kv[1] === 'Combined')) {
      const n = Number(kv[2]);
      if (Number.isInteger(n)) { sawCh = true; if (kv[1] === 'RX') rxCh = n; else combinedCh = n; }
    } else if (section === '-x') {
      if (/^RSS hash key:/.test(line)) { inKey = true; inFunc = false; continue; }
      if (/^RSS hash function:/.test(line)) { inFunc = true; inKey = false; continue; }
      if (inKey) {
        if (line.trim() === '') continue;
        if (/^Operation not supported/.test(line.trim())) { inKey = false; continue; }
        const key = parseKeyHex(line.trim());
        if (key === null) throw new ConfigError(file, `line ${lineNo}`, `"${line.trim()}" is not an RSS key (expected hex bytes separated by ':')`);
        info.key = key;
        inKey = false;
        continue;
      }
      if (inFunc) {
        const f = /^\s*([a-z0-9_]+):\s*on\s*$/.exec(line);
        if (f) info.hfunc = f[1]!;
        continue;
      }
      const row = /^\s*(\d+):((?:\s+\d+)+)\s*$/.exec(line);
      if (row) {
        const start = Number(row[1]);
        if (start !== indir.length) throw new ConfigError(file, `line ${lineNo}`, `indirection table row starts at ${start}, expected ${indir.length}`);
        for (const tok of row[2]!.trim().split(/\s+/)) indir.push(Number(tok));
      }
    }
  }
  if (indir.length > 0) info.indir = indir;
  if (sawCh) info.rxChannels = rxCh + combinedCh;
  return info;
}

/** One `<irq> <dev-queue> <smp_affinity_list>` line of cpus.txt. */
export interface IrqLine {
  irq: number;
  dev: string;
  /** IRQ action name as /proc/interrupts shows it (spaces turned into `_`). */
  name: string;
  /** CPUs of smp_affinity_list; empty when unknown (`?`). */
  cpus: number[];
}

/** Contents of a snapshot's cpus.txt (layout written by src/stack/snapshot/write.ts captureCpus). */
export interface CpusTxt {
  nproc: number;
  irqs: IrqLine[];
  /** `<dev>:rx-<N>` → RPS CPUs (empty: RPS off). */
  rps: Map<string, number[]>;
}

/** Parse a CPU list (`0-3,8,10-11`), as in smp_affinity_list. Null when malformed. */
export function parseCpuList(s: string): number[] | null {
  const out: number[] = [];
  if (s.trim() === '') return out;
  for (const part of s.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 4096) return null;
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** Parse a hex CPU mask (`f`, `00000000,00000003`) as in rps_cpus. Null when malformed. */
export function parseCpuMask(s: string): number[] | null {
  const hex = s.trim().replace(/,/g, '');
  if (!/^[0-9a-fA-F]+$/.test(hex)) return null;
  const out: number[] = [];
  for (let i = 0; i < hex.length; i++) {
    const nib = parseInt(hex[hex.length - 1 - i]!, 16);
    for (let b = 0; b < 4; b++) if (nib & (1 << b)) out.push(i * 4 + b);
  }
  return out;
}

/** Parse cpus.txt: `# nproc`, then IRQ lines, then rps_cpus lines (see write.ts). */
export function parseCpusTxt(text: string, file = 'cpus.txt'): CpusTxt {
  const out: CpusTxt = { nproc: 0, irqs: [], rps: new Map() };
  let section = '';
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      section = /nproc/.test(line) ? 'nproc' : /<irq>/.test(line) ? 'irq' : /rps_cpus/.test(line) ? 'rps' : section;
      continue;
    }
    const where = `line ${lineNo}`;
    if (section === 'nproc') {
      const n = Number(line);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(file, where, `"${line}" is not a CPU count`);
      out.nproc = n;
    } else if (section === 'irq') {
      const m = /^(\d+)\s+([^:\s]+):(\S*)\s+(\S+)$/.exec(line);
      if (!m) throw new ConfigError(file, where, `"${line}" is not "<irq> <dev>:<name> <smp_affinity_list>"`);
      const cpus = m[4] === '?' ? [] : parseCpuList(m[4]!);
      if (cpus === null) throw new ConfigError(file, where, `"${m[4]}" is not a CPU list`);
      out.irqs.push({ irq: Number(m[1]), dev: m[2]!, name: m[3]!, cpus });
    } else if (section === 'rps') {
      const m = /^(\S+:rx-\d+)\s+(\S+)$/.exec(line);
      if (!m) throw new ConfigError(file, where, `"${line}" is not "<dev>:rx-<N> <hex mask>"`);
      const cpus = parseCpuMask(m[2]!);
      if (cpus === null) throw new ConfigError(file, where, `"${m[2]}" is not a hex CPU mask`);
      out.rps.set(m[1]!, cpus);
    }
  }
  if (out.nproc === 0) throw new ConfigError(file, '', 'no "# nproc" section with a CPU count');
  return out;
}

// IRQ names of transmit-only vectors (virtio "output.N", "-tx-N"); combined "TxRx" vectors serve rx too.
const TX_ONLY_IRQ_RE = /output|(^|[-_.])tx[-_.]?\d+$/i;

/**
 * The CPU serving each rx queue of `dev` from cpus.txt IRQ lines: queue index = the last number of the
 * IRQ name before any `@bus` suffix (`virtio2-input.3`, `eth0-TxRx-3`, `mlx5_comp3@pci:…` → 3),
 * CPU = the first CPU of smp_affinity_list. Transmit-only vectors are skipped; a single line, or
 * names without a trailing number, are taken in order. Null when cpus.txt has no IRQ line for `dev`.
 */
export function queueCpusFromIrqs(c: CpusTxt, dev: string): number[] | null {
  const lines = c.irqs.filter((l) => l.dev === dev && !TX_ONLY_IRQ_RE.test(l.name));
  if (lines.length === 0) return null;
  const out: number[] = [];
  let next = 0;
  for (const l of lines) {
    const nums = l.name.replace(/@.*$/, '').match(/\d+/g);
    const q = nums && lines.length > 1 && /\d+$/.test(l.name.replace(/@.*$/, '')) ? Number(nums[nums.length - 1]) : next;
    next = q + 1;
    out[q] = l.cpus.length > 0 ? l.cpus[0]! : q % c.nproc;
  }
  for (let q = 0; q < out.length; q++) if (out[q] === undefined) out[q] = q % c.nproc;
  return out;
}

/** Overrides from the command line, on top of what a snapshot says. */
export interface RssOverrides {
  key?: Uint8Array;
  queues?: number;
  cpus?: number;
  /** Spread queues over CPUs round-robin instead of the snapshot's IRQ affinity (default: when cpus is given). */
  roundRobin?: boolean;
}

/** RSS options plus the rx ring size, as read from a snapshot. */
export interface DeviceQueueConfig {
  rss: RssOptions;
  /** rx ring size from `ethtool -g` (null: not in the snapshot). */
  rxRing: number | null;
  /** Where each value came from, for the report. */
  sources: string[];
}

/**
 * Read `ns/<ns>/ethtool/<dev>.txt` and `ns/<ns>/cpus.txt` of a snapshot into RSS options for `dev`.
 * Missing files fall back to defaults (and say so in `sources`); overrides win over the snapshot.
 */
export function queueConfigFromSnapshot(dir: string, ns: string, dev: string, o: RssOverrides = {}): DeviceQueueConfig {
  const sources: string[] = [];
  const base = join(dir, 'ns', ns);
  const ethFile = join(base, 'ethtool', `${dev}.txt`);
  const eth = existsSync(ethFile) ? parseEthtool(readFileSync(ethFile, 'utf8'), ethFile) : null;
  const cpuFile = join(base, 'cpus.txt');
  const cpus = existsSync(cpuFile) ? parseCpusTxt(readFileSync(cpuFile, 'utf8'), cpuFile) : null;

  let queues = o.queues ?? eth?.rxChannels ?? null;
  if (queues === null && eth?.indir) queues = Math.max(...eth.indir) + 1;
  const irqCpus = cpus ? queueCpusFromIrqs(cpus, dev) : null;
  if (queues === null && irqCpus) queues = irqCpus.length;
  queues ??= 1;
  sources.push(`queues ${queues} from ${o.queues !== undefined ? '--queues' : eth?.rxChannels != null ? 'ethtool -l' : irqCpus ? 'cpus.txt IRQs' : 'default'}`);

  const nCpus = o.cpus ?? cpus?.nproc ?? queues;
  const rss: RssOptions = { queues, cpus: nCpus };
  if (o.key) rss.key = o.key;
  else if (eth?.key) { rss.key = eth.key; sources.push('key from ethtool -x'); }
  if (eth?.indir && o.queues === undefined && eth.indir.every((q) => q < queues!)) { rss.indir = eth.indir; sources.push('indirection table from ethtool -x'); }
  if (!(o.roundRobin ?? o.cpus !== undefined) && irqCpus && irqCpus.every((c) => c < nCpus)) {
    rss.queueCpus = Array.from({ length: queues }, (_, q) => irqCpus[q] ?? q % nCpus);
    sources.push('IRQ affinity from cpus.txt');
  }
  if (cpus) {
    const rps = Array.from({ length: queues }, (_, q) => (cpus.rps.get(`${dev}:rx-${q}`) ?? []).filter((c) => c < nCpus));
    if (rps.some((l) => l.length > 0)) { rss.rps = rps; sources.push('rps_cpus from cpus.txt'); }
  }
  return { rss, rxRing: eth?.rxRing ?? null, sources };
}

/**
 * The CPU count a snapshot's cpus.txt gives (`nproc`, the same host-wide in every namespace folder;
 * the root namespace's is read first). Null when no folder has one.
 */
export function snapshotCpuCount(dir: string): number | null {
  const nsDir = join(dir, 'ns');
  if (!existsSync(nsDir)) return null;
  for (const ns of readdirSync(nsDir).sort()) {
    const f = join(nsDir, ns, 'cpus.txt');
    if (!existsSync(f)) continue;
    const n = parseCpusTxt(readFileSync(f, 'utf8'), f).nproc;
    if (n > 0) return n;
  }
  return null;
}
