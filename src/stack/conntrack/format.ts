/**
 * Text at the edge: a conntrack entry as `conntrack -L` (conntrack-tools 1.4, libnetfilter_conntrack's
 * default output) prints it, e.g.
 *
 *   tcp      6 431999 ESTABLISHED src=192.0.2.2 dst=198.51.100.2 sport=40000 dport=80 src=198.51.100.2 dst=192.0.2.2 sport=80 dport=40000 [ASSURED] mark=0 use=1
 *
 * Only for traces, tools and tests; the packet path never builds strings.
 */
import { TCP_CONNTRACK_NAMES } from './proto_tcp.js';
import type { Conn } from './table.js';
import {
  IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED,
  IPS_SEEN_REPLY, type Tuple,
} from './tuple.js';

const PROTO_NAMES: Record<number, string> = {
  [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_ICMP]: 'icmp', [IPPROTO_ICMPV6]: 'icmpv6',
  [IPPROTO_UDPLITE]: 'udplite', [IPPROTO_SCTP]: 'sctp', [IPPROTO_GRE]: 'gre',
};

/** Dotted quad of a u32. */
export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** RFC 5952 text of an IPv6 address given as four u32 words (inet_ntop style). */
export function formatIpv6Words(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped (::ffff:a.b.c.d)
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${formatIpv4(w3)}`;
  const hex = (x: number): string => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

function addr(t: Tuple, src: boolean): string {
  if (t.l3 === 4) return formatIpv4(src ? t.src0 : t.dst0);
  return src ? formatIpv6Words(t.src0, t.src1, t.src2, t.src3) : formatIpv6Words(t.dst0, t.dst1, t.dst2, t.dst3);
}

/** One direction: "src=… dst=… sport=… dport=…" (or ICMP type/code/id). */
export function formatTuple(t: Tuple): string {
  let s = `src=${addr(t, true)} dst=${addr(t, false)}`;
  if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) {
    s += ` type=${t.icmpType} code=${t.icmpCode} id=${t.icmpId}`;
  } else if (t.proto === IPPROTO_TCP || t.proto === IPPROTO_UDP || t.proto === IPPROTO_UDPLITE || t.proto === IPPROTO_SCTP) {
    s += ` sport=${t.sport} dport=${t.dport}`;
  } else if (t.proto === IPPROTO_GRE) {
    s += ` srckey=0x${t.sport.toString(16)} dstkey=0x${t.dport.toString(16)}`;
  }
  return s;
}

/** The `conntrack -L` line for `c` at capture time `now`. */
export function formatConntrack(c: Conn, now: number): string {
  const o = c.orig;
  const name = PROTO_NAMES[o.proto] ?? 'unknown';
  const left = Math.max(0, Math.floor(c.timeoutAt - now + 1e-9));
  let s = `${name.padEnd(8)} ${o.proto} ${left} `;
  if (o.proto === IPPROTO_TCP) s += `${TCP_CONNTRACK_NAMES[c.tcpState] ?? 'NONE'} `;
  s += formatTuple(o) + ' ';
  if (!(c.status & IPS_SEEN_REPLY)) s += '[UNREPLIED] ';
  s += formatTuple(c.reply) + ' ';
  if (c.status & IPS_ASSURED) s += '[ASSURED] ';
  s += `mark=${c.mark >>> 0} `;
  if (c.zone !== 0) s += `zone=${c.zone} `;
  s += 'use=1';
  return s;
}
