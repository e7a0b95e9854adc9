/**
 * Seeded synthetic captures for tests and benchmarks: TCP conversations (handshake, data, FIN close),
 * UDP request/response, ICMP echo, ARP request/reply, fragmented IPv4 datagrams and SYN floods,
 * interleaved over many concurrent flows on one Ethernet segment. Every checksum is right, so
 * `pktpath decode` reports no problems. The same options and seed give byte-identical output.
 *
 *   const w = new PcapWriter('x.pcap', { nanosecond: false, linktype: 1 });
 *   synthesize({ ...SYNTH_DEFAULTS, packets: 1e6, seed: 7 }, w);
 *   w.close();
 */
import { ETH_P_ARP, ETH_P_IP, writeEthernet } from '../stack/wire/ethernet.js';
import { writeArp } from '../stack/wire/arp.js';
import { ipv4FragWord, writeIpv4 } from '../stack/wire/ipv4.js';
import { tcpFillChecksum4, writeTcp, writeTcpOptions } from '../stack/wire/tcp.js';
import { udpFillChecksum4, writeUdp } from '../stack/wire/udp.js';
import { icmpFillChecksum, writeIcmpEcho } from '../stack/wire/icmp.js';
import { PcapngWriter, PcapWriter } from './writer.js';

/** Conversation kinds, in --mix order. */
export const SYNTH_KINDS = ['tcp', 'udp', 'icmp', 'arp', 'frag', 'synflood'] as const;
export type SynthKind = (typeof SYNTH_KINDS)[number];

/** Generator options. */
export interface SynthOptions {
  seed: number;
  /** Packets to write. */
  packets: number;
  /** Conversations open at once (packets of different conversations interleave). */
  flows: number;
  /** Packets per second: packet i is stamped startSec + i / rate. */
  rate: number;
  /** Epoch seconds of the first packet. */
  startSec: number;
  /** Client and server address pools: network address and prefix length. */
  clientNet: number;
  clientPrefix: number;
  serverNet: number;
  serverPrefix: number;
  /** Relative share of packets per kind (need not sum to 100). */
  mix: Record<SynthKind, number>;
}

/** Defaults (the CLI's): clients 198.51.100.0/24, servers 203.0.113.0/24 (RFC 5737). */
export const SYNTH_DEFAULTS: SynthOptions = {
  seed: 1,
  packets: 1000,
  flows: 100,
  rate: 1000,
  startSec: 1704067200, // 2024-01-01T00:00:00Z
  clientNet: 0xc6336400,
  clientPrefix: 24,
  serverNet: 0xcb007100,
  serverPrefix: 24,
  mix: { tcp: 60, udp: 25, icmp: 10, arp: 5, frag: 0, synflood: 0 },
};

/** Anything that takes frames (PcapWriter fits as is). */
export interface FrameSink {
  write(tsSec: number, tsNsec: number, data: Uint8Array): void;
}

/** What was written. */
export interface SynthStats {
  packets: number;
  /** Packets written per kind. */
  byKind: Record<SynthKind, number>;
  /** Conversations started per kind. */
  conversations: Record<SynthKind, number>;
}

/** Parse a --mix string such as "tcp=60,udp=25,icmp=10,arp=5"; kinds not named get 0. Throws TypeError. */
export function parseMix(s: string): Record<SynthKind, number> {
  const mix: Record<SynthKind, number> = { tcp: 0, udp: 0, icmp: 0, arp: 0, frag: 0, synflood: 0 };
  for (const part of s.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*$/.exec(part);
    if (!m || !(SYNTH_KINDS as readonly string[]).includes(m[1])) {
      throw new TypeError(`"${part}" is not KIND=WEIGHT with KIND one of ${SYNTH_KINDS.join(', ')}`);
    }
    mix[m[1] as SynthKind] = Number(m[2]);
  }
  return mix;
}

/** mulberry32: a small, fast 32-bit PRNG (public domain, Tommy Ettinger); enough for traffic shapes. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 4294967296) * (hi - lo + 1));
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(0, a.length - 1)];
  }
}

const KIND_INDEX: Record<SynthKind, number> = { tcp: 0, udp: 1, icmp: 2, arp: 3, frag: 4, synflood: 5 };
const TCP_PORTS = [80, 443, 22, 8080, 5432, 6379] as const;
const UDP_PORTS = [53, 123, 514, 5353, 1194] as const;
const MSS = 1460;
const MTU = 1500;
const BCAST_HI = 0xffff, BCAST_LO = 0xffffffff;

/**
 * One conversation: a script of packets produced step by step. Fields cover every kind so all
 * conversations share one shape.
 */
class Conv {
  kind = 0;
  step = 0;
  /** Packets left in this conversation. */
  left = 0;
  client = 0;
  server = 0;
  cport = 0;
  sport = 0;
  cseq = 0;
  sseq = 0;
  /** TCP: request/response rounds left; ICMP: echo seq; flood: SYNs left. */
  rounds = 0;
  reqLen = 0;
  respLen = 0;
  id = 0;
  /** Fragmented datagram: total payload and next offset. */
  total = 0;
  fragAt = 0;
  proto = 0;
  tsBase = 0;
  /** Frag: the whole L4 datagram, sliced into fragments (allocated on first use, then reused). */
  datagram: Uint8Array = EMPTY;
}

const EMPTY = new Uint8Array(0);

function macHiOf(a: number): number {
  return 0x0200 | ((a >>> 24) & 0xff);
}

/** Locally administered MAC derived from the host address: 02:<a.b.c.d>:00 style, stable per address. */
function macLoOf(a: number): number {
  return ((a << 8) | 0x01) >>> 0;
}

/**
 * Generate `opts.packets` frames into `writer` (a PcapWriter, a PcapngWriter — an interface
 * "synth0" is added — or any FrameSink). Throws TypeError for bad options.
 */
export function synthesize(opts: SynthOptions, writer: PcapWriter | PcapngWriter | FrameSink): SynthStats {
  validate(opts);
  let sink: FrameSink;
  if (writer instanceof PcapngWriter) {
    const id = writer.addInterface('synth0', 1);
    sink = { write: (s, ns, d) => writer.write(id, s, ns, d) };
  } else {
    sink = writer;
  }
  return new Generator(opts, sink).run();
}

function validate(o: SynthOptions): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new TypeError(`${name} must be an integer ≥ ${min} (got ${v})`);
  };
  int(o.packets, 'packets', 0);
  int(o.flows, 'flows', 1);
  int(o.startSec, 'startSec', 0);
  if (!(o.rate > 0 && Number.isFinite(o.rate))) throw new TypeError(`rate must be a positive number (got ${o.rate})`);
  for (const [p, name] of [[o.clientPrefix, 'client prefix'], [o.serverPrefix, 'server prefix']] as const) {
    if (!Number.isInteger(p) || p < 8 || p > 30) throw new TypeError(`${name} must be /8 to /30 (got /${p})`);
  }
  let sum = 0;
  for (const k of SYNTH_KINDS) {
    const w = o.mix[k];
    if (!(w >= 0 && Number.isFinite(w))) throw new TypeError(`mix weight of ${k} must be a non-negative number`);
    sum += w;
  }
  if (!(sum > 0)) throw new TypeError('the mix gives no kind a weight; name at least one, e.g. tcp=1');
}

class Generator {
  private readonly rng: Rng;
  private readonly buf = new Uint8Array(65536);
  private readonly pattern = new Uint8Array(65536);
  private readonly convs: Conv[] = [];
  private readonly weights: number[];
  private readonly emitted = [0, 0, 0, 0, 0, 0];
  private readonly started = [0, 0, 0, 0, 0, 0];
  /** Packets still to come from open conversations, per kind. */
  private readonly pending = [0, 0, 0, 0, 0, 0];
  private written = 0;
  private ipId = 1;

  constructor(private readonly o: SynthOptions, private readonly sink: FrameSink) {
    this.rng = new Rng(o.seed);
    for (let i = 0; i < this.pattern.length; i++) this.pattern[i] = this.rng.u32() & 0xff;
    let sum = 0;
    for (const k of SYNTH_KINDS) sum += o.mix[k];
    this.weights = SYNTH_KINDS.map((k) => o.mix[k] / sum);
    for (let i = 0; i < o.flows; i++) this.convs.push(new Conv());
  }

  run(): SynthStats {
    const n = this.o.packets, convs = this.convs;
    for (const c of convs) this.start(c);
    while (this.written < n) {
      const c = convs[this.rng.int(0, convs.length - 1)];
      this.emit(c);
      if (c.left === 0) this.start(c);
    }
    const byKind = {} as Record<SynthKind, number>, conversations = {} as Record<SynthKind, number>;
    for (const k of SYNTH_KINDS) {
      byKind[k] = this.emitted[KIND_INDEX[k]];
      conversations[k] = this.started[KIND_INDEX[k]];
    }
    return { packets: this.written, byKind, conversations };
  }

  /** Next kind: the one furthest below its packet share, so the mix holds at any prefix of the file. */
  private nextKind(): number {
    let best = -1, bestGap = -Infinity, committed = this.written + 1;
    for (let k = 0; k < 6; k++) committed += this.pending[k];
    for (let k = 0; k < 6; k++) {
      if (this.weights[k] === 0) continue;
      // Packets still queued in open conversations count as written.
      const gap = this.weights[k] * committed - this.emitted[k] - this.pending[k];
      if (gap > bestGap) {
        bestGap = gap;
        best = k;
      }
    }
    return best;
  }

  private host(net: number, prefix: number): number {
    const size = 2 ** (32 - prefix);
    return (net + this.rng.int(1, size - 2)) >>> 0;
  }

  private start(c: Conv): void {
    const r = this.rng, o = this.o;
    const k = this.nextKind();
    this.started[k]++;
    c.kind = k;
    c.step = 0;
    c.client = this.host(o.clientNet, o.clientPrefix);
    c.server = this.host(o.serverNet, o.serverPrefix);
    c.cport = r.int(32768, 60999);
    c.tsBase = r.u32();
    switch (k) {
      case 0: // tcp: SYN, SYN-ACK, ACK, rounds × (request, response, ACK), FIN, FIN, ACK
        c.sport = r.pick(TCP_PORTS);
        c.cseq = r.u32();
        c.sseq = r.u32();
        c.rounds = r.int(1, 3);
        c.left = 3 + 3 * c.rounds + 3;
        break;
      case 1: // udp: request, response
        c.sport = r.pick(UDP_PORTS);
        c.left = 2;
        break;
      case 2: // icmp: echo request/reply pairs
        c.id = r.int(1, 65535);
        c.rounds = r.int(1, 3);
        c.left = 2 * c.rounds;
        break;
      case 3: // arp: who-has another client, reply
        c.server = this.host(o.clientNet, o.clientPrefix);
        if (c.server === c.client) c.server = (o.clientNet + 1) >>> 0;
        c.left = 2;
        break;
      case 4: { // frag: one UDP or ICMP datagram larger than the MTU, in fragments
        c.proto = r.int(0, 1) === 0 ? 17 : 1;
        c.sport = r.pick(UDP_PORTS);
        c.total = r.int(MTU, 4000);
        c.id = this.ipId = (this.ipId + 1) & 0xffff;
        c.fragAt = 0;
        c.left = Math.ceil(c.total / ((MTU - 20) & ~7));
        c.rounds = r.int(1, 65535); // icmp id
        break;
      }
      default: // synflood: a burst of SYNs to one server port from random sources, no replies
        c.sport = r.pick(TCP_PORTS);
        c.left = r.int(8, 32);
        break;
    }
    this.pending[k] += c.left;
  }

  private emit(c: Conv): void {
    switch (c.kind) {
      case 0: this.tcpStep(c); break;
      case 1: this.udpStep(c); break;
      case 2: this.icmpStep(c); break;
      case 3: this.arpStep(c); break;
      case 4: this.fragStep(c); break;
      default: this.floodStep(c); break;
    }
    c.step++;
    c.left--;
    this.pending[c.kind]--;
    this.emitted[c.kind]++;
  }

  private out(len: number): void {
    const frameLen = len < 60 ? 60 : len; // pad to the Ethernet minimum (IEEE 802.3 clause 4.2.3.3)
    if (len < 60) this.buf.fill(0, len, 60);
    const i = this.written++;
    const rate = this.o.rate;
    const whole = Math.floor(i / rate);
    const nsec = Math.floor(((i - whole * rate) * 1e9) / rate);
    this.sink.write(this.o.startSec + whole, nsec, this.buf.subarray(0, frameLen));
  }

  private payload(off: number, len: number, into: Uint8Array = this.buf): void {
    const start = this.rng.int(0, this.pattern.length - len - 1);
    into.set(this.pattern.subarray(start, start + len), off);
  }

  /** Ethernet + IPv4 header from a to b; returns the L4 offset. */
  private ip(from: number, to: number, l4len: number, proto: number, ttl: number, frag: number, id: number): number {
    const b = this.buf;
    writeEthernet(b, 0, macHiOf(to), macLoOf(to), macHiOf(from), macLoOf(from), ETH_P_IP);
    if (id < 0) id = this.ipId = (this.ipId + 1) & 0xffff;
    return writeIpv4(b, 14, 20, 0, 20 + l4len, id, frag, ttl, proto, from, to);
  }

  private tcp(c: Conv, fromClient: boolean, flags: number, dataLen: number, syn: boolean): void {
    const b = this.buf;
    const src = fromClient ? c.client : c.server, dst = fromClient ? c.server : c.client;
    const hdr = syn ? 40 : 32;
    const p = this.ip(src, dst, hdr + dataLen, 6, fromClient ? 64 : 63, ipv4FragWord(true, false, 0), -1);
    const ts = (c.tsBase + c.step * 10) >>> 0;
    const ecr = c.step === 0 ? 0 : (c.tsBase + (c.step - 1) * 10) >>> 0;
    const optLen = syn ? writeTcpOptions(b, p + 20, MSS, 7, true, ts, ecr) : writeTcpOptions(b, p + 20, -1, -1, false, ts, ecr);
    const seq = fromClient ? c.cseq : c.sseq, ack = fromClient ? c.sseq : c.cseq;
    writeTcp(b, p, fromClient ? c.cport : c.sport, fromClient ? c.sport : c.cport, seq, flags & 0x10 ? ack : 0, flags, fromClient ? 502 : 509, 20 + optLen);
    if (dataLen > 0) this.payload(p + hdr, dataLen);
    tcpFillChecksum4(b, p, hdr + dataLen, src, dst);
    const adv = dataLen + (flags & 0x03 ? 1 : 0); // SYN and FIN take a sequence number
    if (fromClient) c.cseq = (c.cseq + adv) >>> 0;
    else c.sseq = (c.sseq + adv) >>> 0;
    this.out(p + hdr + dataLen);
  }

  private tcpStep(c: Conv): void {
    const s = c.step, r = this.rng, last = 3 + 3 * c.rounds;
    if (s === 0) this.tcp(c, true, 0x02, 0, true);
    else if (s === 1) this.tcp(c, false, 0x12, 0, true);
    else if (s === 2) this.tcp(c, true, 0x10, 0, false);
    else if (s < last) {
      const phase = (s - 3) % 3;
      if (phase === 0) this.tcp(c, true, 0x18, r.int(40, 600), false);
      else if (phase === 1) this.tcp(c, false, 0x18, r.int(100, MSS), false);
      else this.tcp(c, true, 0x10, 0, false);
    } else if (s === last) this.tcp(c, true, 0x11, 0, false);
    else if (s === last + 1) this.tcp(c, false, 0x11, 0, false);
    else this.tcp(c, true, 0x10, 0, false);
  }

  private udpStep(c: Conv): void {
    const b = this.buf, fromClient = c.step === 0;
    const src = fromClient ? c.client : c.server, dst = fromClient ? c.server : c.client;
    const len = 8 + (fromClient ? this.rng.int(20, 200) : this.rng.int(40, 500));
    const p = this.ip(src, dst, len, 17, fromClient ? 64 : 63, 0, -1);
    writeUdp(b, p, fromClient ? c.cport : c.sport, fromClient ? c.sport : c.cport, len);
    this.payload(p + 8, len - 8);
    udpFillChecksum4(b, p, len, src, dst);
    this.out(p + len);
  }

  private icmpStep(c: Conv): void {
    const b = this.buf, request = (c.step & 1) === 0;
    const src = request ? c.client : c.server, dst = request ? c.server : c.client;
    const p = this.ip(src, dst, 64, 1, request ? 64 : 63, ipv4FragWord(!request, false, 0), -1);
    this.payload(p + 8, 56);
    writeIcmpEcho(b, p, request ? 8 : 0, c.id, (c.step >>> 1) + 1, 56);
    this.out(p + 64);
  }

  private arpStep(c: Conv): void {
    const b = this.buf;
    if (c.step === 0) {
      writeEthernet(b, 0, BCAST_HI, BCAST_LO, macHiOf(c.client), macLoOf(c.client), ETH_P_ARP);
      writeArp(b, 14, 1, macHiOf(c.client), macLoOf(c.client), c.client, 0, 0, c.server);
    } else {
      writeEthernet(b, 0, macHiOf(c.client), macLoOf(c.client), macHiOf(c.server), macLoOf(c.server), ETH_P_ARP);
      writeArp(b, 14, 2, macHiOf(c.server), macLoOf(c.server), c.server, macHiOf(c.client), macLoOf(c.client), c.client);
    }
    this.out(42);
  }

  /**
   * Fragments of one datagram (RFC 791 §2.3 "Fragmentation"): the L4 header and checksum are built
   * for the whole datagram in the conversation's own buffer (fragments of several datagrams
   * interleave), then sliced into 1480-byte pieces.
   */
  private fragStep(c: Conv): void {
    const b = this.buf;
    if (c.fragAt === 0) {
      if (c.datagram.length === 0) c.datagram = new Uint8Array(4096);
      const d = c.datagram;
      this.payload(8, c.total - 8, d);
      if (c.proto === 17) {
        writeUdp(d, 0, c.cport, c.sport, c.total);
        udpFillChecksum4(d, 0, c.total, c.client, c.server);
      } else {
        d[0] = 8;
        d[1] = 0;
        d[4] = c.rounds >>> 8;
        d[5] = c.rounds;
        d[6] = 0;
        d[7] = 1;
        icmpFillChecksum(d, 0, c.total);
      }
    }
    const maxData = (MTU - 20) & ~7;
    const n = Math.min(maxData, c.total - c.fragAt);
    const more = c.fragAt + n < c.total;
    const p = this.ip(c.client, c.server, n, c.proto, 64, ipv4FragWord(false, more, c.fragAt), c.id);
    b.set(c.datagram.subarray(c.fragAt, c.fragAt + n), p);
    c.fragAt += n;
    this.out(p + n);
  }

  private floodStep(c: Conv): void {
    const r = this.rng;
    c.client = this.host(this.o.clientNet, this.o.clientPrefix);
    c.cport = r.int(1024, 65535);
    c.cseq = r.u32();
    const b = this.buf;
    const p = this.ip(c.client, c.server, 20, 6, 64, 0, -1);
    writeTcp(b, p, c.cport, c.sport, c.cseq, 0, 0x02, 1024, 20);
    tcpFillChecksum4(b, p, 20, c.client, c.server);
    this.out(p + 20);
  }
}
