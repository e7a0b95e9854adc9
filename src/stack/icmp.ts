/**
 * Packets the stack generates: ICMP errors (net/ipv4/icmp.c __icmp_send), echo replies (icmp_echo)
 * and TCP resets (tcp_ipv4.c tcp_v4_send_reset). Each is built as a fresh packet and sent through
 * ip_local_out, so OUTPUT/POSTROUTING, conntrack (RELATED) and NAT see it as the kernel's do.
 */
import type { Datapath } from './datapath.js';
import type { Netns } from './netns.js';
import { ctinfoDir, IP_CT_DIR_ORIGINAL, IP_CT_RELATED, IP_CT_RELATED_REPLY } from './conntrack/index.js';
import type { Step } from './record.js';
import { Skb } from './skb.js';
import { formatIpv4 } from './inet.js';
import { decodeFrame } from './wire/decode.js';
import { writeIpv4, IPPROTO_ICMP, IPPROTO_TCP } from './wire/ipv4.js';
import { writeIcmpError, icmpIsError, ICMP_ECHOREPLY, icmpFillChecksum } from './wire/icmp.js';
import { writeTcp, tcpFillChecksum4 } from './wire/tcp.js';
import { ipLocalOut } from './ip_output.js';
import { RTN_LOCAL } from './route.js';

const kEthHlen = 14;
/** RFC 1812 §4.3.2.3: quote as much as fits in 576 bytes (ICMP_MAX_QUOTE-style, observed total 576). */
const kIcmpErrMaxTotal = 576;

/** Names of the ICMP errors the stack sends (type/code), as traces print them. */
export const ICMP_NAMES: Record<string, string> = {
  '3/0': 'net-unreachable', '3/1': 'host-unreachable', '3/2': 'prot-unreachable', '3/3': 'port-unreachable',
  '3/4': 'frag-needed', '3/9': 'net-prohibited', '3/10': 'host-prohibited', '3/13': 'admin-prohibited', '11/0': 'ttl-exceeded',
  '5/0': 'redirect-net', '5/1': 'redirect-host',
};

function newSkb(cause: Skb, frame: Uint8Array, len: number): Skb {
  const g = new Skb();
  g.load(frame, len);
  decodeFrame(g.info, g.data, len, len, 1, { verifyChecksums: false });
  g.ns = cause.ns;
  g.index = cause.index;
  g.generated = true;
  return g;
}

/** The local address the kernel uses as source towards `dst` (route prefsrc, else the device's). */
function sourceFor(dp: Datapath, cause: Skb, dst: number): number {
  const ns = cause.ns!;
  const fl = dp.fl;
  fl.daddr = dst;
  fl.saddr = 0;
  fl.iif = ns.loopback();
  fl.oif = null;
  fl.mark = 0;
  fl.tos = 0;
  fl.proto = 0;
  fl.sport = 0;
  fl.dport = 0;
  ns.fib4.lookup(fl, dp.fres);
  const r = dp.fres.route;
  if (!r || dp.fres.err) return 0;
  if (r.type === RTN_LOCAL) return dst;
  if (r.prefsrc) return r.prefsrc;
  const nh = r.nh[0];
  return nh?.dev ? nh.dev.primaryAddr4(nh.gw || dst) : 0;
}

/**
 * The inet_peer of an address (inet_getpeer_v4): rate_tokens and rate_last, which the ICMP error
 * limit and the redirect backoff share, and n_redirects. A new peer's rate_last is long past.
 */
export function icmpPeer(dp: Datapath, ns: Netns, addr: number): { tokens: number; last: number; redirects: number } {
  const peers = dp.nsrt(ns).icmpPeers;
  let p = peers.get(addr);
  if (!p) peers.set(addr, (p = { tokens: 0, last: -Infinity, redirects: 0 }));
  return p;
}

/** inet_peer rate limit for ICMP errors (icmpv4_xrlim_allow): 1 per icmp_ratelimit ms, burst 6. */
function xrlimAllow(dp: Datapath, cause: Skb, type: number, dst: number): boolean {
  const ns = cause.ns!;
  const mask = ns.sysctl.int('net.ipv4.icmp_ratemask', 6168);
  if (type > 31 || !(mask & (1 << type))) return true;
  const rate = ns.sysctl.int('net.ipv4.icmp_ratelimit', 1000) / 1000;
  if (rate === 0) return true;
  // inet_peer_xrlim_allow() on the peer ip_rt_send_redirect() also uses: a redirect to this host
  // spends its tokens (observed: no port unreachable right after a redirect).
  const p = icmpPeer(dp, ns, dst);
  const burst = 6 * rate; // XRLIM_BURST_FACTOR
  p.tokens = Math.min(burst, p.tokens + (dp.now - p.last));
  p.last = dp.now;
  if (p.tokens >= rate) {
    p.tokens -= rate;
    return true;
  }
  return false;
}

/** nf_conntrack_attach(): `g` answers `cause`, so it carries cause's entry, RELATED the other way. */
export function attachCauseCt(cause: Skb, g: Skb): void {
  if (cause.ct === null || cause.untracked) return;
  g.ct = cause.ct;
  g.ctinfo = ctinfoDir(cause.ctinfo) === IP_CT_DIR_ORIGINAL ? IP_CT_RELATED_REPLY : IP_CT_RELATED;
}

/** __icmp_send(): an ICMP error about `skb` back to its source. */
export function icmpSend(dp: Datapath, skb: Skb, type: number, code: number, info: number, why: string): void {
  const i = skb.info;
  if (i.l3 !== 1) return;
  // Never an error about an error, a non-first fragment, or a broadcast/multicast (RFC 1122 §3.2.2).
  if (i.l4proto === IPPROTO_ICMP && i.icmpType >= 0 && icmpIsError(i.icmpType)) return;
  if (i.fragOff > 0) return;
  if ((i.dst4 >>> 28) === 0xe || i.dst4 === 0xffffffff || (i.src4 >>> 28) === 0xe || i.src4 === 0) return;
  const ns = skb.ns!;
  const dst = i.src4;
  // Source: the original destination if it was ours, else what the route back chooses.
  const src = ns.local4.has(i.dst4) ? i.dst4 : sourceFor(dp, skb, dst);
  if (!src) return;
  const rec = dp.recOf(skb);
  if (!xrlimAllow(dp, skb, type, dst)) {
    if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `ICMP ${ICMP_NAMES[`${type}/${code}`] ?? `${type}/${code}`} to ${formatIpv4(dst)} suppressed by icmp_ratelimit` });
    return;
  }
  const quoteLen = Math.min(i.l3Len || skb.len - i.l3Off, kIcmpErrMaxTotal - 28, skb.len - i.l3Off);
  const total = 20 + 8 + quoteLen;
  const frame = new Uint8Array(kEthHlen + total);
  frame[12] = 0x08;
  writeIcmpError(frame, kEthHlen + 20, type, code, info, skb.data, i.l3Off, quoteLen);
  writeIpv4(frame, kEthHlen, 20, 0xc0, total, dp.nsrt(ns).ipId++ & 0xffff, 0, 64, IPPROTO_ICMP, src, dst);
  const g = newSkb(skb, frame, frame.length);
  // The error carries its cause's conntrack entry, confirmed or not (nf_conntrack_attach): RELATED
  // in the other direction. Observed in namespaces: a reject's or a redirect's error about a new
  // connection is `ct state related` at OUTPUT, where a lookup would find nothing yet.
  attachCauseCt(skb, g);
  const steps: Step[] = [];
  dp.emit(rec, g, { type: 'icmp-error', ns: ns.name, dev: null, src: formatIpv4(src), dst: formatIpv4(dst), detail: `${ICMP_NAMES[`${type}/${code}`] ?? `type ${type} code ${code}`} (${why})`, steps });
  dp.withSink(steps, () => ipLocalOut(dp, g));
}

/** icmp_echo() → icmp_reply(): answer an echo request. */
export function icmpEchoReply(dp: Datapath, skb: Skb): void {
  const i = skb.info;
  const ns = skb.ns!;
  const len = Math.min(i.l3Len, skb.len - i.l3Off);
  const icmpLen = len - i.ipHdrLen;
  if (icmpLen < 8) return;
  const total = 20 + icmpLen;
  const frame = new Uint8Array(kEthHlen + total);
  frame[12] = 0x08;
  frame.set(skb.data.subarray(i.l4Off, i.l4Off + icmpLen), kEthHlen + 20);
  frame[kEthHlen + 20] = ICMP_ECHOREPLY;
  icmpFillChecksum(frame, kEthHlen + 20, icmpLen);
  writeIpv4(frame, kEthHlen, 20, i.tos, total, dp.nsrt(ns).ipId++ & 0xffff, 0, 64, IPPROTO_ICMP, i.dst4, i.src4);
  const g = newSkb(skb, frame, frame.length);
  const rec = dp.recOf(skb);
  const steps: Step[] = [];
  dp.emit(rec, g, { type: 'icmp-echo-reply', ns: ns.name, dev: null, src: formatIpv4(i.dst4), dst: formatIpv4(i.src4), steps });
  dp.withSink(steps, () => ipLocalOut(dp, g));
}

/** tcp_v4_send_reset(): RST for a segment nobody wants (RFC 9293 §3.10.7.1). */
export function tcpV4SendReset(dp: Datapath, skb: Skb, why: string, attach = false): void {
  const i = skb.info;
  const ns = skb.ns!;
  const frame = new Uint8Array(kEthHlen + 40);
  frame[12] = 0x08;
  const payload = Math.max(0, Math.min(i.l3Len, skb.len - i.l3Off) - i.ipHdrLen - (((skb.data[i.l4Off + 12] >> 4) & 15) << 2));
  let seq = 0, ack = 0, flags = 0x04;
  if (i.tcpFlags & 0x10) seq = i.tcpAck >>> 0;
  else {
    ack = (i.tcpSeq + payload + (i.tcpFlags & 0x02 ? 1 : 0) + (i.tcpFlags & 0x01 ? 1 : 0)) >>> 0;
    flags |= 0x10;
  }
  writeTcp(frame, kEthHlen + 20, i.dport, i.sport, seq, ack, flags, 0, 20);
  tcpFillChecksum4(frame, kEthHlen + 20, 20, i.dst4, i.src4);
  writeIpv4(frame, kEthHlen, 20, 0, 40, 0, 0x4000, 64, IPPROTO_TCP, i.dst4, i.src4);
  const g = newSkb(skb, frame, frame.length);
  // nf_send_reset() attaches its cause's entry (observed: `ct state related` at OUTPUT); the
  // stack's own reset (tcp_v4_send_reset) does not.
  if (attach) attachCauseCt(skb, g);
  const rec = dp.recOf(skb);
  const steps: Step[] = [];
  dp.emit(rec, g, { type: 'tcp-rst', ns: ns.name, dev: null, src: `${formatIpv4(i.dst4)}:${i.dport}`, dst: `${formatIpv4(i.src4)}:${i.sport}`, detail: why, steps });
  dp.withSink(steps, () => ipLocalOut(dp, g));
}
