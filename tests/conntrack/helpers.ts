/**
 * Test helpers: parse packet bytes into a CtPacket (what the datapath does), build packets, and a
 * tiny forwarding "router" that calls conntrack and NAT at the kernel's hook points, so recorded
 * kernel runs (tests/conntrack/kernel/) can be replayed through the model.
 */
import {
  ConntrackTable, CtPacket, CtResult, type Conn, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_RELATED, IP_CT_RELATED_REPLY, IP_CT_UNTRACKED, NF_NAT_MANIP_DST,
  NF_NAT_MANIP_SRC, type NatManip, NatRange, NatRewrite, csumFold, csumReplace2, natManipPkt4, nfNatAdopt,
  nfNatAllocNullBinding, nfNatInitialized, nfNatPacket, nfNatSetupInfo, type CtTableOptions,
} from '../../src/stack/conntrack/index.js';

export function ip(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

const rd16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const rd32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Pseudo-header sum for IPv4 (src, dst, proto, length). */
export function pseudo4(b: Uint8Array, iph: number, proto: number, len: number): number {
  return rd16(b, iph + 12) + rd16(b, iph + 14) + rd16(b, iph + 16) + rd16(b, iph + 18) + proto + len;
}

/** Checksums of an IPv4 packet recomputed from scratch: true when IP and L4 checksums verify. */
export function checksumsOk(b: Uint8Array): boolean {
  const ihl = (b[0]! & 15) * 4;
  const end = rd16(b, 2);
  if (csumFold(b, 0, ihl) !== 0) return false;
  const proto = b[9]!;
  if (proto === IPPROTO_TCP) return csumFold(b, ihl, end, pseudo4(b, 0, 6, end - ihl)) === 0;
  if (proto === IPPROTO_UDP) return rd16(b, ihl + 6) === 0 || csumFold(b, ihl, end, pseudo4(b, 0, 17, end - ihl)) === 0;
  if (proto === IPPROTO_ICMP) return csumFold(b, ihl, end) === 0;
  return true;
}

/**
 * Fill `p` from an IPv4 packet at offset 0 (no link header). `checkCsum` = PREROUTING with
 * nf_conntrack_checksum=1. Returns the L4 offset.
 */
export function parse4(p: CtPacket, b: Uint8Array, checkCsum = true): number {
  p.reset();
  const ihl = (b[0]! & 15) * 4;
  const end = rd16(b, 2);
  p.l3 = 4;
  p.proto = b[9]!;
  p.src4 = rd32(b, 12);
  p.dst4 = rd32(b, 16);
  const l4 = ihl;
  if (p.proto === IPPROTO_TCP) {
    p.sport = rd16(b, l4); p.dport = rd16(b, l4 + 2);
    p.tcpSeq = rd32(b, l4 + 4); p.tcpAck = rd32(b, l4 + 8);
    const doff = (b[l4 + 12]! >> 4) * 4;
    p.tcpFlags = b[l4 + 13]!;
    p.tcpWin = rd16(b, l4 + 14);
    if (doff < 20 || l4 + doff > end) { p.hdrError = true; return l4; }
    p.tcpOptLen = doff - 20;
    p.payloadLen = end - l4 - doff;
    for (let o = l4 + 20; o < l4 + doff;) {
      const kind = b[o]!;
      if (kind === 0) break;
      if (kind === 1) { o++; continue; }
      const len = b[o + 1]!;
      if (len < 2 || o + len > l4 + doff) break;
      if (kind === 3 && len === 3) p.tcpWscale = b[o + 2]!;
      if (kind === 4 && len === 2) p.tcpSackPerm = true;
      if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
        for (let i = 0; i < (len - 2) / 8 && i < 4; i++) p.tcpSackRight[p.tcpSackCount++] = rd32(b, o + 2 + i * 8 + 4);
      }
      o += len;
    }
    if (checkCsum && csumFold(b, l4, end, pseudo4(b, 0, 6, end - l4)) !== 0) p.csumBad = true;
  } else if (p.proto === IPPROTO_UDP) {
    p.sport = rd16(b, l4); p.dport = rd16(b, l4 + 2);
    const ulen = rd16(b, l4 + 4);
    if (ulen < 8 || ulen > end - l4) p.hdrError = true;
    p.payloadLen = end - l4 - 8;
    if (checkCsum && rd16(b, l4 + 6) !== 0 && csumFold(b, l4, end, pseudo4(b, 0, 17, end - l4)) !== 0) p.csumBad = true;
  } else if (p.proto === IPPROTO_ICMP) {
    if (end - l4 < 8) { p.hdrError = true; return l4; }
    p.icmpType = b[l4]!; p.icmpCode = b[l4 + 1]!; p.icmpId = rd16(b, l4 + 4);
    if (checkCsum && csumFold(b, l4, end) !== 0) p.csumBad = true;
    const t = p.icmpType;
    if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) {
      const iip = l4 + 8;
      if (end - iip >= 20) {
        const iihl = (b[iip]! & 15) * 4;
        const frag = rd16(b, iip + 6) & 0x1fff;
        const il4 = iip + iihl;
        p.innerProto = b[iip + 9]!;
        p.innerSrc4 = rd32(b, iip + 12);
        p.innerDst4 = rd32(b, iip + 16);
        const need = p.innerProto === IPPROTO_ICMP ? 8 : p.innerProto === IPPROTO_TCP || p.innerProto === IPPROTO_UDP ? 4 : 0;
        if (frag === 0 && end - il4 >= need) {
          p.innerValid = true;
          if (p.innerProto === IPPROTO_ICMP) {
            p.innerIcmpType = b[il4]!; p.innerIcmpCode = b[il4 + 1]!; p.innerIcmpId = rd16(b, il4 + 4);
          } else if (need === 4) {
            p.innerSport = rd16(b, il4); p.innerDport = rd16(b, il4 + 2);
          }
        }
      }
    }
  }
  return l4;
}

/** ip_decrease_ttl(): TTL - 1 with the kernel's incremental checksum fix. */
export function decTtl(b: Uint8Array): void {
  const old = rd16(b, 8);
  b[8] = b[8]! - 1;
  csumReplace2(b, 10, old, rd16(b, 8));
}

/** nft `ct state` class of a ctinfo/verdict. */
export function ctStateClass(r: CtResult): 'new' | 'established' | 'related' | 'invalid' | 'untracked' {
  if (r.conn === null) return r.ctinfo === IP_CT_UNTRACKED && r.verdict === 'ok' ? 'untracked' : 'invalid';
  if (r.ctinfo === IP_CT_NEW) return 'new';
  if (r.ctinfo === IP_CT_ESTABLISHED || r.ctinfo === IP_CT_ESTABLISHED_REPLY) return 'established';
  if (r.ctinfo === IP_CT_RELATED || r.ctinfo === IP_CT_RELATED_REPLY) return 'related';
  return 'invalid';
}

/** A NAT rule of the model router: returns a range to bind with, or null (no match). */
export type NatRule = (p: CtPacket, oif: 'r0' | 'r1') => NatRange | null;

/**
 * Model of the lab router (ctlab.py): r0 = 192.0.2.1/24 (client side), r1 = 198.51.100.1/24
 * (server side, everything else routed there). Hook order as in the kernel's forward path:
 *   PREROUTING: conntrack in (-200), nat dst (-100) → route → ip_forward (TTL-1) → FORWARD (ct state
 *   counters) → POSTROUTING: nat src (100), confirm (INT_MAX).
 */
export class ModelRouter {
  readonly table: ConntrackTable;
  readonly counters = { new: 0, established: 0, related: 0, invalid: 0, untracked: 0 };
  readonly res = new CtResult();
  readonly pkt = new CtPacket();
  readonly rw = new NatRewrite();
  /** Conns whose SRC manip was bound from an observed kernel choice (adopt mode). */
  adopted = 0;
  natPresent: boolean;

  constructor(opts: CtTableOptions, readonly dnat: NatRule | null = null, readonly snat: NatRule | null = null) {
    this.table = new ConntrackTable(opts);
    this.natPresent = dnat !== null || snat !== null;
  }

  /**
   * Forward one IPv4 packet at time `now`. Returns the bytes leaving the router (a copy) or null if
   * dropped. `observed`, if given, is the kernel's output for this packet: a new SRC binding adopts
   * the address/port seen there instead of choosing (so random ports can be followed).
   */
  forward(input: Uint8Array, now: number, observed: Uint8Array | null = null): Uint8Array | null {
    const b = input.slice();
    const t = this.table;
    t.expire(now);
    const p = this.pkt;
    let l4 = parse4(p, b, true);
    t.in(p, now, this.res);
    const r = this.res;
    if (r.verdict === 'drop') return null;
    const ct = r.conn;
    // nat dst at PREROUTING
    if (ct !== null && this.natPresent && !this.nat(ct, r.ctinfo, NF_NAT_MANIP_DST, b, l4, now, null)) return this.dead(ct);
    // routing on the (possibly DNATed) destination
    const dst = rd32(b, 16);
    const oif = (dst & 0xffffff00) === ip('192.0.2.0') ? 'r0' : 'r1';
    if (b[8]! <= 1) return this.dead(ct);
    decTtl(b);
    this.counters[ctStateClass(r)]++;
    // nat src at POSTROUTING
    if (ct !== null && this.natPresent) {
      l4 = (b[0]! & 15) * 4;
      if (!this.nat(ct, r.ctinfo, NF_NAT_MANIP_SRC, b, l4, now, observed, oif)) return this.dead(ct);
    }
    if (ct !== null && r.created && t.confirm(ct, now) === null) return null;
    return b;
  }

  private dead(ct: Conn | null): null {
    if (ct !== null && this.res.created) this.table.discard(ct);
    return null;
  }

  /** nf_nat_ipv4_fn at one hook. */
  private nat(ct: Conn, ctinfo: number, manip: NatManip, b: Uint8Array, l4: number, now: number,
    observed: Uint8Array | null, oif: 'r0' | 'r1' = 'r1'): boolean {
    const related = ctinfo === IP_CT_RELATED || ctinfo === IP_CT_RELATED_REPLY;
    if (!related && ctinfo === IP_CT_NEW && !nfNatInitialized(ct, manip)) {
      const rule = manip === NF_NAT_MANIP_DST ? this.dnat : this.snat;
      const range = rule === null ? null : rule(this.pkt, oif);
      if (range !== null && manip === NF_NAT_MANIP_SRC && observed !== null) {
        const op = new CtPacket();
        parse4(op, observed, false);
        const port = op.proto === IPPROTO_ICMP ? op.icmpId : op.sport;
        if (!nfNatAdopt(this.table, ct, manip, op.src4, port, now)) throw new Error('adopt failed');
        this.adopted++;
      } else if (range !== null) {
        nfNatSetupInfo(this.table, ct, range, manip, now);
      } else {
        nfNatAllocNullBinding(this.table, ct, manip, now);
      }
    }
    if (!nfNatPacket(ct, ctinfo, manip, this.rw)) return true;
    return natManipPkt4(b, 0, l4, b[9]!, this.rw);
  }
}

/** Masquerade to 198.51.100.1 for packets leaving r1. */
export function masquerade(flags = 0): NatRule {
  const r = NatRange.v4(ip('198.51.100.1'), ip('198.51.100.1'), -1, -1, flags);
  return (_p, oif) => (oif === 'r1' ? r : null);
}

/** Options for tcp() packets. */
export interface TcpOpts { win?: number; len?: number; wscale?: number; sackPerm?: boolean; sack?: number[] }

const FLAG_BITS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

/** Fill `p` with an IPv4 TCP segment. flags like 'S', 'SA', 'PA', 'FA', 'R', 'RA'. */
export function tcp(p: CtPacket, src: string, dst: string, sport: number, dport: number, flags: string,
  seq: number, ack: number, o: TcpOpts = {}): CtPacket {
  p.reset();
  p.l3 = 4; p.proto = IPPROTO_TCP; p.src4 = ip(src); p.dst4 = ip(dst); p.sport = sport; p.dport = dport;
  let f = 0;
  for (const ch of flags) f |= FLAG_BITS[ch]!;
  p.tcpFlags = f; p.tcpSeq = seq >>> 0; p.tcpAck = ack >>> 0; p.tcpWin = o.win ?? 502; p.payloadLen = o.len ?? 0;
  if (o.wscale !== undefined || o.sackPerm || o.sack) {
    p.tcpOptLen = 12;
    p.tcpWscale = o.wscale ?? -1;
    p.tcpSackPerm = o.sackPerm ?? false;
    for (const e of o.sack ?? []) p.tcpSackRight[p.tcpSackCount++] = e >>> 0;
  }
  return p;
}

/** Fill `p` with an IPv4 UDP datagram. */
export function udp(p: CtPacket, src: string, dst: string, sport: number, dport: number, len = 10): CtPacket {
  p.reset();
  p.l3 = 4; p.proto = IPPROTO_UDP; p.src4 = ip(src); p.dst4 = ip(dst); p.sport = sport; p.dport = dport; p.payloadLen = len;
  return p;
}

/** Fill `p` with an IPv4 ICMP message (type, code, id). */
export function icmp(p: CtPacket, src: string, dst: string, type: number, code: number, id: number): CtPacket {
  p.reset();
  p.l3 = 4; p.proto = IPPROTO_ICMP; p.src4 = ip(src); p.dst4 = ip(dst); p.icmpType = type; p.icmpCode = code; p.icmpId = id;
  return p;
}

/** Make `p` (an ICMP error) quote a header: proto with ports, or ICMP type/code/id in sport/dport/id. */
export function quote(p: CtPacket, proto: number, src: string, dst: string, sport: number, dport: number,
  icmpType = -1, icmpId = -1): CtPacket {
  p.innerValid = true; p.innerProto = proto; p.innerSrc4 = ip(src); p.innerDst4 = ip(dst);
  p.innerSport = sport; p.innerDport = dport; p.innerIcmpType = icmpType; p.innerIcmpCode = 0; p.innerIcmpId = icmpId;
  return p;
}

/** What one packet did, copied out of the reused CtResult. */
export interface Seen {
  verdict: string;
  ctinfo: number;
  dir: number;
  state: string;
  detail: string;
  conn: Conn | null;
}

/** Run a packet through in() and confirm() (a forwarding host without NAT). */
export function track(t: ConntrackTable, p: CtPacket, now: number, res = new CtResult()): Seen {
  t.in(p, now, res);
  if (res.conn !== null && res.created && t.confirm(res.conn, now) === null) {
    return { verdict: 'drop', ctinfo: res.ctinfo, dir: res.dir, state: '', detail: 'insert failed', conn: null };
  }
  const state = res.conn === null ? res.verdict : ctStateClass(res);
  return { verdict: res.verdict, ctinfo: res.ctinfo, dir: res.dir, state, detail: res.detail, conn: res.conn };
}
