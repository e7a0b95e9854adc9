/**
 * Packets the IPv6 stack generates: ICMPv6 errors (net/ipv6/icmp.c icmp6_send), echo replies
 * (icmpv6_echo_reply) and TCP resets (tcp_ipv6.c tcp_v6_send_reset). Each is built as a fresh packet
 * and sent through ip6_local_out, so OUTPUT/POSTROUTING, conntrack (RELATED) and the neighbour
 * layer see it as the kernel's do.
 */
import type { Datapath } from './datapath.js';
import type { NetDevice } from './netdev.js';
import type { Step } from './record.js';
import { Skb } from './skb.js';
import { decodeFrame } from './wire/decode.js';
import { writeEthernet, ETH_P_IPV6 } from './wire/ethernet.js';
import { writeIpv6 } from './wire/ipv6.js';
import { writeIcmpv6Error, writeIcmpv6Echo, icmpv6IsError, ICMP6_ECHO_REPLY, ICMP6_MAX_QUOTE, ICMP6_PACKET_TOO_BIG, ICMP6_PARAM_PROB } from './wire/icmpv6.js';
import { writeTcp, tcpFillChecksum6 } from './wire/tcp.js';
import { ip6LocalOut } from './ip6_output.js';
import { attachCauseCt } from './icmp.js';
import { PACKET_HOST } from './skb.js';
import {
  RTN_ANYCAST, RTN_LOCAL, devAnycast6, formatIpv6, icmp6Param, ipv6DevGetSaddr, isLinkLocal6, isMulticast6, isUnspecified6,
  key6, needStrict6, sysctl6,
} from './route6.js';

const kEthHlen = 14;

const ICMP6_NAMES: Record<string, string> = {
  '1/0': 'no-route', '1/1': 'admin-prohibited', '1/2': 'beyond-scope', '1/3': 'address-unreachable', '1/4': 'port-unreachable',
  '1/5': 'policy-fail', '1/6': 'reject-route', '2/0': 'packet-too-big', '3/0': 'hop-limit-exceeded', '3/1': 'reassembly-time-exceeded',
  '4/0': 'parameter-problem (header)', '4/1': 'parameter-problem (unknown next header)', '4/2': 'parameter-problem (unknown option)',
};

/** Name of an ICMPv6 error type/code for traces. */
export function icmp6Name(type: number, code: number): string {
  return ICMP6_NAMES[`${type}/${code}`] ?? `type ${type} code ${code}`;
}

/** A generated IPv6 packet: Ethernet (addresses filled on output) + IPv6 header + `bodyLen` bytes. */
function build6(cause: Skb, src: Uint8Array, dst: Uint8Array, nextHdr: number, hopLimit: number, tclass: number, bodyLen: number): { g: Skb; frame: Uint8Array } {
  const total = kEthHlen + 40 + bodyLen;
  const frame = new Uint8Array(total + 64);
  writeEthernet(frame, 0, 0, 0, 0, 0, ETH_P_IPV6);
  writeIpv6(frame, kEthHlen, tclass, 0, bodyLen, nextHdr, hopLimit, src, 0, dst, 0);
  const g = new Skb();
  g.load(frame, total);
  g.ns = cause.ns;
  g.index = cause.index;
  g.generated = true;
  return { g, frame: g.data };
}

function send(dp: Datapath, cause: Skb, g: Skb, type: string, src: Uint8Array, dst: Uint8Array, detail: string | undefined, oif: NetDevice | null): void {
  decodeFrame(g.info, g.data, g.len, g.len, 1, { verifyChecksums: false });
  const rec = dp.recOf(cause);
  const steps: Step[] = [];
  dp.emit(rec, g, { type, ns: cause.ns!.name, dev: null, src: formatIpv6(src), dst: formatIpv6(dst), ...(detail ? { detail } : {}), steps });
  dp.withSink(steps, () => ip6LocalOut(dp, g, oif));
}

/** net.ipv6.icmp.ratemask as a bitmap test (default "0-1,3-127": every error but packet too big). */
function rateLimited(dp: Datapath, cause: Skb, type: number): boolean {
  const v = cause.ns!.sysctl.values.get('net.ipv6.icmp.ratemask') ?? '0-1,3-127';
  for (const part of v.split(',')) {
    const [a, b] = part.trim().split('-').map(Number);
    if (type >= a && type <= (b ?? a)) return true;
  }
  void dp;
  return false;
}

/**
 * icmpv6_xrlim_allow(): a token bucket per destination of net.ipv6.icmp.ratelimit ms (1000), scaled
 * down by the prefix length of the route to it (tmo >>= (128 − plen) >> 5), burst 6× — the same
 * inet_peer_xrlim_allow as IPv4.
 */
function xrlimAllow(dp: Datapath, cause: Skb, type: number, dst: Uint8Array, plen: number, toLoopback: boolean): boolean {
  if (type > 127 || !rateLimited(dp, cause, type) || toLoopback) return true;
  const ns = cause.ns!;
  let tmo = icmp6Param(ns, 'ratelimit', 1000) / 1000;
  if (tmo === 0) return true;
  if (plen < 128) tmo /= 1 << ((128 - plen) >> 5);
  const rt = dp.nsrt(ns);
  const key = key6(dst);
  let p = rt.icmp6Peers.get(key);
  const burst = 6 * tmo;
  if (!p) rt.icmp6Peers.set(key, (p = { tokens: burst, last: dp.now }));
  else {
    p.tokens = Math.min(burst, p.tokens + (dp.now - p.last));
    p.last = dp.now;
  }
  if (p.tokens >= tmo) {
    p.tokens -= tmo;
    return true;
  }
  return false;
}

/** is_ineligible(): never an error about an ICMPv6 error (RFC 4443 §2.4 (e)). */
function isIneligible(skb: Skb): boolean {
  const i = skb.info;
  if (i.l4proto !== 58) return false;
  if (i.icmpType < 0) return i.fragOff === 0;
  return icmpv6IsError(i.icmpType) || i.icmpType < 128;
}

/**
 * icmp6_send(): an ICMPv6 error about `skb` back to its source. Source: the original destination if
 * it is ours, else the route back's preferred source, else the address ipv6_dev_get_saddr picks on
 * the interface the packet came in by. Not sent: about an ICMPv6 error, to a multicast or unspecified
 * source, about a multicast/non-host packet (except packet too big), or over the rate limit.
 */
export function icmp6Send(dp: Datapath, skb: Skb, type: number, code: number, info: number, why: string): void {
  const i = skb.info;
  if (i.l3 !== 2 || i.srcOff < 0) return;
  const ns = skb.ns!;
  const b = skb.data;
  let saddr: Uint8Array | null = ns.local6.has(key6(b, i.dstOff)) ? b.slice(i.dstOff, i.dstOff + 16) : null;
  if (isMulticast6(b, i.dstOff) || skb.pktType !== PACKET_HOST) {
    if (type !== ICMP6_PACKET_TOO_BIG && !(type === ICMP6_PARAM_PROB && code === 2)) return;
    saddr = null;
  }
  if (isUnspecified6(b, i.srcOff) || isMulticast6(b, i.srcOff)) return;
  if (isIneligible(skb)) return;
  const dst = b.slice(i.srcOff, i.srcOff + 16);
  // The route back (icmpv6_route_lookup): a link-local source is reached through the input device.
  const iif = skb.iif;
  const fl = dp.fl6, res = dp.fres6;
  fl.daddr.set(dst);
  fl.saddr.fill(0);
  fl.iif = null;
  fl.oif = needStrict6(dst, 0) ? iif : null;
  fl.strict = fl.oif !== null;
  fl.mark = 0;
  fl.proto = 58;
  fl.sport = fl.dport = 0;
  fl.tclass = 0;
  ns.fib6.lookup(fl, res);
  const r = res.route;
  if (!r || res.err) return; // no route back: ip6_dst_lookup fails, nothing is sent
  const toLoopback = r.type === RTN_LOCAL || r.type === RTN_ANYCAST;
  const outDev = toLoopback ? ns.loopback() : (res.nh?.dev ?? r.nh[0]?.dev ?? null);
  if (!saddr) saddr = r.prefsrc ?? (iif ? ipv6DevGetSaddr(ns, iif, dst, 0) : null) ?? (outDev ? ipv6DevGetSaddr(ns, outDev, dst, 0) : null);
  if (!saddr) return;
  if (!xrlimAllow(dp, skb, type, dst, r.len, toLoopback)) {
    if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `ICMPv6 ${icmp6Name(type, code)} to ${formatIpv6(dst)} suppressed by net.ipv6.icmp.ratelimit` });
    return;
  }
  const avail = Math.min(i.l3Len > 0 ? i.l3Len : skb.len - i.l3Off, skb.len - i.l3Off);
  const quoteLen = Math.min(avail, ICMP6_MAX_QUOTE);
  const hop = outDev ? sysctl6(ns, outDev.name, 'hop_limit') || 64 : 64;
  const { g, frame } = build6(skb, saddr, dst, 58, hop, 0, 8 + quoteLen);
  writeIcmpv6Error(frame, kEthHlen + 40, type, code, info, b, i.l3Off, quoteLen, frame, kEthHlen + 8, kEthHlen + 24);
  attachCauseCt(skb, g); // like IPv4 (observed: a reject's ICMPv6 error is ct state related at OUTPUT)
  send(dp, skb, g, 'icmp-error', saddr, dst, `${icmp6Name(type, code)}${type === ICMP6_PACKET_TOO_BIG ? ` mtu ${info}` : ''} (${why})`, fl.oif);
}

/**
 * icmpv6_echo_reply(): answer an echo request, from the address it was sent to (a multicast or
 * anycast destination: the address ipv6_dev_get_saddr picks), routed through the input interface
 * first; traffic class copied, payload echoed.
 */
export function icmpv6EchoReply(dp: Datapath, skb: Skb): void {
  const i = skb.info;
  const ns = skb.ns!;
  const b = skb.data;
  const dev = skb.iif;
  const end = Math.min(i.l3Off + (i.l3Len > 0 ? i.l3Len : skb.len - i.l3Off), skb.len);
  const bodyLen = end - i.l4Off;
  if (bodyLen < 8) return;
  const dst = b.slice(i.srcOff, i.srcOff + 16);
  let src: Uint8Array | null = b.slice(i.dstOff, i.dstOff + 16);
  if (isMulticast6(b, i.dstOff) || (dev && devAnycast6(ns, dev, b, i.dstOff))) src = ipv6DevGetSaddr(ns, dev, dst, 0);
  if (!src) return;
  const hop = dev ? sysctl6(ns, dev.name, 'hop_limit') || 64 : 64;
  const { g, frame } = build6(skb, src, dst, 58, hop, i.tos < 0 ? 0 : i.tos, bodyLen);
  frame.set(b.subarray(i.l4Off + 8, end), kEthHlen + 48);
  writeIcmpv6Echo(frame, kEthHlen + 40, ICMP6_ECHO_REPLY, i.icmpId, i.icmpSeq, bodyLen - 8, frame, kEthHlen + 8, kEthHlen + 24);
  send(dp, skb, g, 'icmp-echo-reply', src, dst, undefined, dev);
}

/** tcp_v6_send_reset(): RST for a segment nobody wants (RFC 9293 §3.10.7.1), from its destination. */
export function tcpV6SendReset(dp: Datapath, skb: Skb, why: string, attach = false): void {
  const i = skb.info;
  const b = skb.data;
  const end = Math.min(i.l3Off + (i.l3Len > 0 ? i.l3Len : skb.len - i.l3Off), skb.len);
  const payload = Math.max(0, end - i.l4Off - (((b[i.l4Off + 12] >> 4) & 15) << 2));
  let seq = 0, ack = 0, flags = 0x04;
  if (i.tcpFlags & 0x10) seq = i.tcpAck >>> 0;
  else {
    ack = (i.tcpSeq + payload + (i.tcpFlags & 0x02 ? 1 : 0) + (i.tcpFlags & 0x01 ? 1 : 0)) >>> 0;
    flags |= 0x10;
  }
  const src = b.slice(i.dstOff, i.dstOff + 16);
  const dst = b.slice(i.srcOff, i.srcOff + 16);
  const { g, frame } = build6(skb, src, dst, 6, 64, 0, 20);
  if (attach) attachCauseCt(skb, g); // nf_send_reset6 (observed: ct state related at OUTPUT)
  writeTcp(frame, kEthHlen + 40, i.dport, i.sport, seq, ack, flags, 0, 20);
  tcpFillChecksum6(frame, kEthHlen + 40, 20, frame, kEthHlen + 8, kEthHlen + 24);
  const oif = isLinkLocal6(dst, 0) || isMulticast6(dst, 0) ? skb.iif : null;
  const rec = dp.recOf(skb);
  const steps: Step[] = [];
  decodeFrame(g.info, g.data, g.len, g.len, 1, { verifyChecksums: false });
  dp.emit(rec, g, { type: 'tcp-rst', ns: skb.ns!.name, dev: null, src: `[${formatIpv6(src)}]:${i.dport}`, dst: `[${formatIpv6(dst)}]:${i.sport}`, detail: why, steps });
  dp.withSink(steps, () => ip6LocalOut(dp, g, oif));
}
