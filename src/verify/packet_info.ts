/**
 * Header summaries of the frames `verify` sees (the injected frames, and every frame tcpdump caught in
 * the namespaces), and the keys that recognise one packet across NAT, forwarding and namespaces:
 * the IPv4 id and protocol (neither NAT nor forwarding changes them) plus a transport field that NAT
 * leaves alone (TCP sequence number, UDP length, ICMP type and echo sequence). IPv6 has no id: its
 * flow label stands in (forwarding and NAT66 keep it; captures for verify give each packet its own),
 * and neighbour discovery is keyed like ARP (type, source, target).
 */
import { formatIpv4, formatMac } from '../stack/inet.js';
import { formatIpv6 } from '../stack/route6.js';

/** What verify needs to know about one frame. Numbers are -1 when absent. */
export interface PktInfo {
  l3: 'ipv4' | 'ipv6' | 'arp' | 'other';
  ethertype: number;
  src: number;
  dst: number;
  proto: number;
  /** IPv4 id; IPv6 flow label. */
  id: number;
  /** TTL / hop limit. */
  ttl: number;
  /** IPv6 source and destination as text ('' for IPv4). */
  src6: string;
  dst6: string;
  /** Neighbour discovery (NS/NA, and RS/RA/redirect): the target ('' when none). */
  ndTarget: string;
  totLen: number;
  /** Fragment offset in bytes; > 0 means no transport header here. */
  fragOff: number;
  mf: boolean;
  df: boolean;
  sport: number;
  dport: number;
  tcpSeq: number;
  tcpAck: number;
  tcpFlags: number;
  /** TCP payload length (for the expected ACK of a reply). */
  tcpPayload: number;
  udpLen: number;
  icmpType: number;
  icmpCode: number;
  icmpId: number;
  icmpSeq: number;
  /** ICMP errors: the quoted header (IPv6: src/dst 0, src6/dst6 set, id = flow label). */
  inner: { src: number; dst: number; src6?: string; dst6?: string; proto: number; id: number; sport: number; dport: number } | null;
  arpOp: number;
  sha: string;
  spa: number;
  tha: string;
  tpa: number;
}

function empty(): PktInfo {
  return {
    l3: 'other', ethertype: -1, src: 0, dst: 0, proto: -1, id: -1, ttl: -1, src6: '', dst6: '', ndTarget: '', totLen: -1, fragOff: 0, mf: false, df: false,
    sport: -1, dport: -1, tcpSeq: -1, tcpAck: -1, tcpFlags: -1, tcpPayload: 0, udpLen: -1, icmpType: -1, icmpCode: -1, icmpId: -1, icmpSeq: -1,
    inner: null, arpOp: -1, sha: '', spa: 0, tha: '', tpa: 0,
  };
}

/** Parse an Ethernet frame (one 802.1Q tag is skipped). */
export function parseEthernet(b: Uint8Array): PktInfo {
  if (b.length < 14) return empty();
  let et = (b[12] << 8) | b[13];
  let off = 14;
  if (et === 0x8100 && b.length >= 18) {
    et = (b[16] << 8) | b[17];
    off = 18;
  }
  return parseL3(b, off, et);
}

/** Parse a Linux cooked v2 (SLL2) record: ethertype, ifindex, packet type (4 = outgoing). */
export function parseSll2(b: Uint8Array): { info: PktInfo; ifindex: number; pkttype: number } {
  if (b.length < 20) return { info: empty(), ifindex: -1, pkttype: -1 };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const et = dv.getUint16(0);
  const ifindex = dv.getUint32(4);
  const pkttype = b[10];
  return { info: parseL3(b, 20, et), ifindex, pkttype };
}

function parseL3(b: Uint8Array, off: number, et: number): PktInfo {
  const p = empty();
  p.ethertype = et;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (et === 0x0806 && b.length >= off + 28) {
    p.l3 = 'arp';
    p.arpOp = dv.getUint16(off + 6);
    p.sha = mac(b, off + 8);
    p.spa = dv.getUint32(off + 14);
    p.tha = mac(b, off + 18);
    p.tpa = dv.getUint32(off + 24);
    return p;
  }
  if (et === 0x86dd && b.length >= off + 40 && b[off] >> 4 === 6) return parseIpv6(b, off, p);
  if (et !== 0x0800 || b.length < off + 20 || b[off] >> 4 !== 4) return p;
  p.l3 = 'ipv4';
  const ihl = (b[off] & 15) * 4;
  p.totLen = dv.getUint16(off + 2);
  p.id = dv.getUint16(off + 4);
  const frag = dv.getUint16(off + 6);
  p.df = (frag & 0x4000) !== 0;
  p.mf = (frag & 0x2000) !== 0;
  p.fragOff = (frag & 0x1fff) * 8;
  p.ttl = b[off + 8];
  p.proto = b[off + 9];
  p.src = dv.getUint32(off + 12);
  p.dst = dv.getUint32(off + 16);
  if (p.fragOff > 0) return p;
  const l4 = off + ihl;
  const end = Math.min(b.length, off + p.totLen);
  if (p.proto === 6 && end >= l4 + 20) {
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.tcpSeq = dv.getUint32(l4 + 4);
    p.tcpAck = dv.getUint32(l4 + 8);
    p.tcpFlags = b[l4 + 13];
    p.tcpPayload = Math.max(0, p.totLen - ihl - (b[l4 + 12] >> 4) * 4);
  } else if (p.proto === 17 && end >= l4 + 8) {
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.udpLen = dv.getUint16(l4 + 4);
  } else if (p.proto === 1 && end >= l4 + 8) {
    p.icmpType = b[l4];
    p.icmpCode = b[l4 + 1];
    if (p.icmpType === 0 || p.icmpType === 8) {
      p.icmpId = dv.getUint16(l4 + 4);
      p.icmpSeq = dv.getUint16(l4 + 6);
    } else if ((p.icmpType === 3 || p.icmpType === 11 || p.icmpType === 12 || p.icmpType === 5) && end >= l4 + 28) {
      const q = l4 + 8;
      const qihl = (b[q] & 15) * 4;
      const inner = { src: dv.getUint32(q + 12), dst: dv.getUint32(q + 16), proto: b[q + 9], id: dv.getUint16(q + 4), sport: -1, dport: -1 };
      if ((inner.proto === 6 || inner.proto === 17) && end >= q + qihl + 4) {
        inner.sport = dv.getUint16(q + qihl);
        inner.dport = dv.getUint16(q + qihl + 2);
      } else if (inner.proto === 1 && end >= q + qihl + 8) {
        inner.sport = dv.getUint16(q + qihl + 4); // echo id
      }
      p.inner = inner;
    }
  }
  return p;
}

/** Extension headers skipped to reach the upper layer: hop-by-hop, routing, destination options. */
const EXT6 = new Set([0, 43, 60]);

function parseIpv6(b: Uint8Array, off: number, p: PktInfo): PktInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  p.l3 = 'ipv6';
  p.id = dv.getUint32(off) & 0xfffff;
  const plen = dv.getUint16(off + 4);
  p.totLen = 40 + plen;
  p.ttl = b[off + 7];
  p.src6 = formatIpv6(b, off + 8);
  p.dst6 = formatIpv6(b, off + 24);
  const end = Math.min(b.length, off + 40 + plen);
  let next = b[off + 6];
  let l4 = off + 40;
  while (l4 + 8 <= end) {
    if (EXT6.has(next)) {
      const len = (b[l4 + 1] + 1) * 8;
      next = b[l4];
      l4 += len;
    } else if (next === 44) {
      const fo = dv.getUint16(l4 + 2);
      p.fragOff = (fo >> 3) * 8;
      p.mf = (fo & 1) !== 0;
      next = b[l4];
      l4 += 8;
      if (p.fragOff > 0) {
        p.proto = next;
        return p;
      }
    } else break;
  }
  p.proto = next;
  if (next === 6 && end >= l4 + 20) {
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.tcpSeq = dv.getUint32(l4 + 4);
    p.tcpAck = dv.getUint32(l4 + 8);
    p.tcpFlags = b[l4 + 13];
    p.tcpPayload = Math.max(0, end - l4 - (b[l4 + 12] >> 4) * 4);
  } else if (next === 17 && end >= l4 + 8) {
    p.sport = dv.getUint16(l4);
    p.dport = dv.getUint16(l4 + 2);
    p.udpLen = dv.getUint16(l4 + 4);
  } else if (next === 58 && end >= l4 + 8) {
    p.icmpType = b[l4];
    p.icmpCode = b[l4 + 1];
    if (p.icmpType === 128 || p.icmpType === 129) {
      p.icmpId = dv.getUint16(l4 + 4);
      p.icmpSeq = dv.getUint16(l4 + 6);
    } else if (p.icmpType >= 1 && p.icmpType <= 4 && end >= l4 + 48) {
      const q = l4 + 8;
      const inner: NonNullable<PktInfo['inner']> = {
        src: 0, dst: 0, src6: formatIpv6(b, q + 8), dst6: formatIpv6(b, q + 24), proto: b[q + 6], id: dv.getUint32(q) & 0xfffff, sport: -1, dport: -1,
      };
      const ql4 = q + 40;
      if ((inner.proto === 6 || inner.proto === 17) && end >= ql4 + 4) {
        inner.sport = dv.getUint16(ql4);
        inner.dport = dv.getUint16(ql4 + 2);
      } else if (inner.proto === 58 && end >= ql4 + 8) {
        inner.sport = dv.getUint16(ql4 + 4); // echo id
      }
      p.inner = inner;
    } else if ((p.icmpType === 135 || p.icmpType === 136 || p.icmpType === 137) && end >= l4 + 24) {
      p.ndTarget = formatIpv6(b, l4 + 8);
      // The link-layer address option (source for NS, target for NA), when it is the first option.
      if (end >= l4 + 32 && (b[l4 + 24] === 1 || b[l4 + 24] === 2) && b[l4 + 25] === 1) p.sha = mac(b, l4 + 26);
    }
  }
  return p;
}

/** Neighbour discovery (router/neighbour solicitation and advertisement, redirect): the ARP of IPv6. */
export function isNd(p: PktInfo): boolean {
  return p.l3 === 'ipv6' && p.proto === 58 && p.icmpType >= 133 && p.icmpType <= 137;
}

/** Source and destination as text, for either family. */
export function srcText(p: PktInfo): string {
  return p.l3 === 'ipv6' ? p.src6 : formatIpv4(p.src);
}
export function dstText(p: PktInfo): string {
  return p.l3 === 'ipv6' ? p.dst6 : formatIpv4(p.dst);
}

function mac(b: Uint8Array, off: number): string {
  return formatMac((b[off] << 8) | b[off + 1], ((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0);
}

/** The coarse key: the same for every copy of a packet (and its fragments) in every namespace. */
export function coarseKey(p: PktInfo): string {
  if (p.l3 === 'ipv4') return `${p.proto}/${p.id}`;
  if (isNd(p)) return `nd/${p.icmpType}/${p.src6}/${p.ndTarget}`;
  if (p.l3 === 'ipv6') return `6/${p.proto}/${p.id}`;
  if (p.l3 === 'arp') return `arp/${p.arpOp}/${p.sha}/${p.spa}/${p.tpa}`;
  return `other/${p.ethertype}`;
}

/** True when the transport fields NAT leaves alone agree (or one side has no transport header). */
export function sameL4(a: PktInfo, b: PktInfo): boolean {
  if ((a.l3 !== 'ipv4' && a.l3 !== 'ipv6') || a.l3 !== b.l3 || a.fragOff > 0 || b.fragOff > 0) return true;
  if (a.l3 === 'ipv6' && a.proto === 58) return a.icmpType === b.icmpType && a.icmpCode === b.icmpCode && a.icmpSeq === b.icmpSeq;
  if (a.proto === 6) return a.tcpSeq === b.tcpSeq && a.tcpFlags === b.tcpFlags;
  if (a.proto === 17) return a.udpLen === b.udpLen;
  if (a.proto === 1) return a.icmpType === b.icmpType && a.icmpCode === b.icmpCode && a.icmpSeq === b.icmpSeq;
  return a.totLen === b.totLen;
}

/** Header as the trace schema prints it (HdrTuple). */
export function hdrOf(p: PktInfo): { src: string; dst: string; sport?: number; dport?: number; icmp_id?: number } {
  const h: { src: string; dst: string; sport?: number; dport?: number; icmp_id?: number } = { src: srcText(p), dst: dstText(p) };
  if (p.l3 === 'arp') return { src: formatIpv4(p.spa), dst: formatIpv4(p.tpa) };
  if (p.sport >= 0) {
    h.sport = p.sport;
    h.dport = p.dport;
  } else if (p.icmpId >= 0) h.icmp_id = p.icmpId;
  return h;
}

/** One-line description: "tcp 198.51.100.1:5555 > 198.51.100.2:8080 [S] id 7". */
export function describe(p: PktInfo): string {
  if (p.l3 === 'arp') return `arp ${p.arpOp === 1 ? 'who-has' : p.arpOp === 2 ? 'reply' : `op ${p.arpOp}`} ${formatIpv4(p.tpa)} tell ${formatIpv4(p.spa)}`;
  if (p.l3 === 'ipv6') {
    const a6 = p.src6, b6 = p.dst6, fl = ` flow ${p.id}`;
    if (isNd(p)) {
      const t = p.icmpType === 135 ? 'neighbor solicitation' : p.icmpType === 136 ? 'neighbor advertisement' : p.icmpType === 133 ? 'router solicitation' : p.icmpType === 134 ? 'router advertisement' : 'redirect';
      return `icmp6 ${a6} > ${b6} ${t}${p.ndTarget ? ` ${p.ndTarget}` : ''}`;
    }
    if (p.proto === 6) return `tcp6 [${a6}]:${p.sport} > [${b6}]:${p.dport} [${tcpFlagText(p.tcpFlags)}]${fl}`;
    if (p.proto === 17) return `udp6 [${a6}]:${p.sport} > [${b6}]:${p.dport}${fl}`;
    if (p.proto === 58) return `icmp6 ${a6} > ${b6} type ${p.icmpType}${p.icmpId >= 0 ? ` id ${p.icmpId} seq ${p.icmpSeq}` : ` code ${p.icmpCode}`} hlim ${p.ttl}${fl}`;
    return `ip6 next ${p.proto} ${a6} > ${b6}${fl}`;
  }
  if (p.l3 !== 'ipv4') return `ethertype 0x${p.ethertype.toString(16).padStart(4, '0')}`;
  const a = formatIpv4(p.src), b = formatIpv4(p.dst);
  if (p.proto === 6) return `tcp ${a}:${p.sport} > ${b}:${p.dport} [${tcpFlagText(p.tcpFlags)}] id ${p.id}`;
  if (p.proto === 17) return `udp ${a}:${p.sport} > ${b}:${p.dport} id ${p.id}`;
  if (p.proto === 1) return `icmp ${a} > ${b} type ${p.icmpType}${p.icmpId >= 0 ? ` id ${p.icmpId} seq ${p.icmpSeq}` : ` code ${p.icmpCode}`} id ${p.id}`;
  return `ip proto ${p.proto} ${a} > ${b} id ${p.id}`;
}

/** TCP flags as letters (S, SA, A, PA, F, R...). */
export function tcpFlagText(f: number): string {
  if (f < 0) return '';
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x10) s += 'A';
  if (f & 0x20) s += 'U';
  return s || '.';
}
