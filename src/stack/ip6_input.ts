/**
 * IPv6 input (net/ipv6/ip6_input.c, exthdrs.c, route.c ip6_route_input): ip6_rcv_core's header checks
 * and hop-by-hop options, PREROUTING, the input route (local / multicast / forward / error), and local
 * delivery through INPUT to TCP, UDP or ICMPv6 (echo, errors, neighbour discovery), with the RST or
 * ICMPv6 error the kernel sends when nobody listens.
 *
 *   ipv6Rcv ─► ip6RcvCore ─► PREROUTING ─► ip6RcvFinish ─► route: local/anycast ─► ip6Input ─► INPUT ─► ip6InputFinish
 *                                                                multicast ─► ip6McInput (member?) ─┘
 *                                                                unicast ─► ip6Forward
 *                                                                error ─► ip6_pkt_discard / prohibit / dst_discard
 */
import type { Datapath } from './datapath.js';
import { hdrOf } from './datapath.js';
import type { NetDevice } from './netdev.js';
import type { Netns } from './netns.js';
import { socketsOnPort, type Sock } from './socket.js';
import { PACKET_HOST, PACKET_LOOPBACK, PACKET_OTHERHOST, PACKET_BROADCAST, PACKET_MULTICAST, type Skb } from './skb.js';
import { DR, dropReason, dropReasonName } from './drop_reason.js';
import { nfHookIpv6 } from './nf_hook.js';
import { tableName } from './route.js';
import { ip6Forward } from './ip6_forward.js';
import { icmp6Send, icmpv6EchoReply, tcpV6SendReset } from './icmp6.js';
import { ndiscRcv } from './ndisc.js';
import {
  ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, ICMP6_DST_UNREACH_NOPORT, ICMP6_DST_UNREACH_NOROUTE, ICMP6_PARAM_PROB, icmpv6IsNd,
} from './wire/icmpv6.js';
import {
  RTN_ANYCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST, devAnycast6, eq6, formatIpv6, icmp6Param, isLoopback6, isMulticast6,
  isUnspecified6, mcScope6, mcastMember6, needStrict6, parseIpv6Addr, sysctl6,
} from './route6.js';

/** Results of ip6RouteInput. */
const R_LOCAL = 0, R_MCAST = 1, R_FORWARD = 2, R_DONE = 3;

/** Hop-by-hop / destination options the kernel accepts before counting (net.ipv6.max_hbh_opts_number). */
const kMaxTlvOpts = 8;

/** ipv6_rcv(): IPv6 arrives on dev. */
export function ipv6Rcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.iif = dev;
  skb.oif = null;
  if (!ip6RcvCore(dp, skb, dev)) return;
  if (!nfHookIpv6(dp, skb, 'prerouting')) return;
  ip6RcvFinish(dp, skb, dev);
}

/** ip6_rcv_core(): the checks before PREROUTING, in the kernel's order. False when dropped (reported). */
export function ip6RcvCore(dp: Datapath, skb: Skb, dev: NetDevice): boolean {
  const where = { stage: 'ip6_rcv_core', dev: dev.name };
  if (skb.pktType === PACKET_OTHERHOST) {
    dp.drop(skb, DR.OTHERHOST, where, 'destination MAC is another host');
    return false;
  }
  const ns = dev.ns;
  if (sysctl6(ns, dev.name, 'disable_ipv6') !== 0) {
    dp.drop(skb, DR.IPV6DISABLED, where, `net.ipv6.conf.${dev.name}.disable_ipv6 = 1`);
    return false;
  }
  const i = skb.info;
  const b = skb.data;
  const o = i.l3Off;
  const avail = skb.len - o;
  if (i.srcOff < 0 || avail < 40) {
    if (i.caplen < i.len && i.len - o >= 40) return unmodelledCut(dp, skb, dev);
    dp.drop(skb, DR.IP_INHDR, where, 'shorter than an IPv6 header');
    return false;
  }
  if (b[o] >>> 4 !== 6) {
    dp.drop(skb, DR.UNHANDLED_PROTO, where, `IP version ${b[o] >>> 4}`);
    return false;
  }
  const loDev = dev.kind === 'loopback';
  // RFC 4291 §2.5.3, errata 3480, §2.7: loopback addresses off lo, interface-local or scope-0 multicast,
  // multicast sources.
  if ((isLoopback6(b, i.srcOff) || isLoopback6(b, i.dstOff)) && !loDev) return hdrDrop(dp, skb, dev, 'loopback address on a non-loopback device');
  const mcDst = isMulticast6(b, i.dstOff);
  if (mcDst && mcScope6(b, i.dstOff) === 1 && skb.pktType !== PACKET_LOOPBACK && !loDev) return hdrDrop(dp, skb, dev, 'interface-local multicast from another node');
  if (!mcDst && (skb.pktType === PACKET_BROADCAST || skb.pktType === PACKET_MULTICAST) && sysctl6(ns, dev.name, 'drop_unicast_in_l2_multicast') !== 0) {
    dp.drop(skb, DR_UNICAST_IN_L2_MULTICAST, where);
    return false;
  }
  if (mcDst && mcScope6(b, i.dstOff) === 0) return hdrDrop(dp, skb, dev, 'multicast destination with scope 0');
  if (isMulticast6(b, i.srcOff)) return hdrDrop(dp, skb, dev, 'multicast source');
  const plen = (b[o + 4] << 8) | b[o + 5];
  if ((plen !== 0 || b[o + 6] !== 0) && 40 + plen > i.len - o) {
    dp.drop(skb, DR.PKT_TOO_SMALL, where, `payload length ${plen} > ${i.len - o - 40} bytes received`);
    return false;
  }
  // A capture cut by its snaplen still has the headers the decisions need; the options must be there.
  if (b[o + 6] === 0 && o + 48 > skb.len && i.caplen < i.len) return unmodelledCut(dp, skb, dev);
  if (b[o + 6] === 0 && !parseTlv(dp, skb, dev, o + 40, true)) return false;
  return true;
}

const DR_UNICAST_IN_L2_MULTICAST = dropReason('UNICAST_IN_L2_MULTICAST');

function hdrDrop(dp: Datapath, skb: Skb, dev: NetDevice, detail: string): boolean {
  dp.drop(skb, DR.IP_INHDR, { stage: 'ip6_rcv_core', dev: dev.name }, detail);
  return false;
}

function unmodelledCut(dp: Datapath, skb: Skb, dev: NetDevice): boolean {
  if (!skb.generated) dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: dev.ns.name, dev: dev.name, detail: 'the capture cut this packet short (snaplen): its headers cannot be evaluated' });
  return false;
}

/**
 * ip6_parse_tlv(): the options of a hop-by-hop (`hbh`) or destination options header at `off`. Pad1 /
 * PadN (at most 7 bytes of padding, PadN all zero), router alert (hop-by-hop, length 2), jumbo payload
 * and home address are known; an unknown option acts on its top two bits (RFC 8200 §4.2): skip, drop,
 * or drop with an ICMPv6 parameter problem (not for a multicast destination with 11). Malformed headers
 * are dropped (NOT_SPECIFIED, as kfree_skb).
 */
function parseTlv(dp: Datapath, skb: Skb, dev: NetDevice, off: number, hbh: boolean): boolean {
  const b = skb.data, i = skb.info;
  const stage = hbh ? 'ipv6_parse_hopopts' : 'ipv6_destopt_rcv';
  const bad = (detail: string) => {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage, dev: dev.name }, detail);
    return false;
  };
  const pktEnd = i.l3Off + 40 + ((b[i.l3Off + 4] << 8) | b[i.l3Off + 5]);
  if (off + 8 > pktEnd) return bad('options header runs past the packet');
  const end = off + ((b[off + 1] + 1) << 3);
  if (end > pktEnd) return bad('options header runs past the packet');
  if (end > skb.len) {
    if (!skb.generated) dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: dev.ns.name, dev: dev.name, detail: 'the capture cut the options header short (snaplen)' });
    return false;
  }
  let p = off + 2, padlen = 0, count = 0;
  while (p < end) {
    const t = b[p];
    if (t === 0) {
      if (++padlen > 7) return bad('more than 7 bytes of padding');
      p++;
      continue;
    }
    if (p + 2 > end) return bad('option runs past the header');
    const optlen = b[p + 1] + 2;
    if (p + optlen > end) return bad('option runs past the header');
    if (t === 1) {
      padlen += optlen;
      if (padlen > 7) return bad('more than 7 bytes of padding');
      for (let k = 2; k < optlen; k++) if (b[p + k] !== 0) return bad('PadN with non-zero contents');
      p += optlen;
      continue;
    }
    if (++count > kMaxTlvOpts) return bad(`more than ${kMaxTlvOpts} options`);
    padlen = 0;
    const known = hbh ? t === 0x05 || t === 0xc2 || t === 0x07 || t === 0x31 : t === 0xc9;
    if (hbh && t === 0x05 && optlen !== 4) {
      dp.drop(skb, DR.IP_INHDR, { stage: 'ipv6_hop_ra', dev: dev.name }, 'router alert option with a bad length');
      return false;
    }
    if (!known) {
      const action = t >> 6;
      if (action === 1 || (action === 3 && isMulticast6(b, i.dstOff))) {
        dp.drop(skb, DR.UNHANDLED_PROTO, { stage: 'ip6_tlvopt_unknown', dev: dev.name }, `unknown option 0x${t.toString(16)}`);
        return false;
      }
      if (action >= 2) {
        icmp6Send(dp, skb, ICMP6_PARAM_PROB, 2, p - i.l3Off, 'unknown option');
        dp.drop(skb, DR.UNHANDLED_PROTO, { stage: 'ip6_tlvopt_unknown', dev: dev.name }, `unknown option 0x${t.toString(16)}`);
        return false;
      }
    }
    p += optlen;
  }
  return true;
}

/** ip6_rcv_finish(): route the packet, then deliver, take the multicast path or forward. */
export function ip6RcvFinish(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.iif = dev;
  const r = ip6RouteInput(dp, skb, dev);
  if (r === R_LOCAL) ip6Input(dp, skb, dev);
  else if (r === R_MCAST) ip6McInput(dp, skb, dev);
  else if (r === R_FORWARD) ip6Forward(dp, skb, dev);
}

/**
 * ip6_route_input(): the input route for the packet (RT6_LOOKUP_F_IFACE for link-local and multicast
 * destinations; routes through the arriving interface preferred). Error routes end here with the
 * kernel's dst.input: ip6_pkt_discard (no route, unreachable: ICMPv6 no route, IP_INNOROUTES),
 * ip6_pkt_prohibit (ICMPv6 administratively prohibited, IP_INNOROUTES), dst_discard (blackhole, silent).
 */
function ip6RouteInput(dp: Datapath, skb: Skb, dev: NetDevice): number {
  const ns = dev.ns;
  const fl = dp.fl6, res = dp.fres6;
  const i = skb.info, b = skb.data;
  fl.setAddrs(b, i.dstOff, i.srcOff);
  fl.iif = dev;
  fl.oif = null;
  fl.mark = skb.mark;
  fl.proto = b[i.l3Off + 6];
  fl.sport = i.sport < 0 ? 0 : i.sport;
  fl.dport = i.dport < 0 ? 0 : i.dport;
  fl.tclass = i.tos < 0 ? 0 : i.tos;
  fl.strict = needStrict6(b, i.dstOff);
  ns.fib6.lookup(fl, res);
  const r = res.route;
  const ruleText = res.rule ? res.rule.text.replace(/\t/g, ' ') : '';
  const table = res.table ? tableName(res.table) : '';
  if (res.err !== null || !r) {
    const rtext = r ? r.text : 'no route';
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table, rule: ruleText, route: rtext, result: res.err ?? 'ENETUNREACH' });
    const where = { stage: res.err === 'EINVAL' ? 'dst_discard' : res.err === 'EACCES' ? 'ip6_pkt_prohibit' : 'ip6_pkt_discard', dev: dev.name, route: rtext };
    if (res.err === 'EINVAL') {
      dp.drop(skb, DR.NOT_SPECIFIED, where, 'blackhole');
      return R_DONE;
    }
    // ip6_pkt_drop(): an unspecified destination counts as an address error; ICMPv6 in every case.
    const reason = isUnspecified6(b, i.dstOff) ? DR.IP_INADDRERRORS : DR.IP_INNOROUTES;
    const code = res.err === 'EACCES' ? ICMP6_DST_UNREACH_ADMIN : ICMP6_DST_UNREACH_NOROUTE;
    icmp6Send(dp, skb, ICMP6_DST_UNREACH, code, 0, res.err === 'EACCES' ? 'prohibit route' : 'no route');
    dp.drop(skb, reason, where, res.err ?? 'ENETUNREACH');
    return R_DONE;
  }
  if (r.type === RTN_LOCAL || r.type === RTN_ANYCAST) {
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table, rule: ruleText, route: r.text, result: r.type === RTN_LOCAL ? 'local' : 'anycast (local)' });
    return R_LOCAL;
  }
  if (r.type === RTN_MULTICAST) {
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table, rule: ruleText, route: r.text, result: 'multicast' });
    return R_MCAST;
  }
  if (r.type !== RTN_UNICAST) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ip6_route_input', dev: dev.name, route: r.text }, `route type ${r.type} is not modelled for input`);
    return R_DONE;
  }
  const nh = res.nh ?? r.nh[0] ?? null;
  skb.oif = nh?.dev ?? null;
  skb.nexthop = nh?.gw ? ns.addr6Ids.id(nh.gw) + 1 : 0;
  if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table, rule: ruleText, route: r.text, result: 'forward', ...(skb.oif ? { oif: skb.oif.name } : {}), ...(nh?.gw ? { via: formatIpv6(nh.gw) } : {}) });
  return R_FORWARD;
}

/** ip6_mc_input(): delivered when the interface is a member of the group, else freed. */
function ip6McInput(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const i = skb.info;
  if (!mcastMember6(ns, dev, skb.data, i.dstOff)) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ip6_mc_input', dev: dev.name }, `${dev.name} is not a member of ${formatIpv6(skb.data, i.dstOff)}`);
    return;
  }
  ip6Input(dp, skb, dev);
}

/** ip6_input(): INPUT hook, then the extension headers and the transport protocol. */
export function ip6Input(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.oif = null;
  if (!nfHookIpv6(dp, skb, 'input')) return;
  ip6InputFinish(dp, skb, dev);
}

function unmodelled(dp: Datapath, skb: Skb, dev: NetDevice, detail: string): void {
  if (!skb.generated) dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: dev.ns.name, dev: dev.name, detail });
}

/**
 * ip6_protocol_deliver_rcu(): walk the extension headers (hop-by-hop was parsed at receive;
 * destination options here; a routing header with segments left and fragments are not modelled),
 * then tcp_v6_rcv / udpv6_rcv / icmpv6_rcv; an unknown next header gets an ICMPv6 parameter problem.
 */
function ip6InputFinish(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info, b = skb.data;
  const o = i.l3Off;
  const end = Math.min(o + 40 + ((b[o + 4] << 8) | b[o + 5]), skb.len);
  let nh = b[o + 6], nhOff = o + 6, p = o + 40;
  for (;;) {
    if ((nh === 0 && p === o + 40) || nh === 60 || nh === 43) {
      if (i.caplen < i.len && (p + 8 > skb.len || p + ((b[p + 1] + 1) << 3) > skb.len)) return unmodelled(dp, skb, dev, 'the capture cut an extension header short (snaplen)');
      if (p + 8 > end || p + ((b[p + 1] + 1) << 3) > end) {
        dp.drop(skb, DR.NOT_SPECIFIED, { stage: nh === 43 ? 'ipv6_rthdr_rcv' : 'ipv6_destopt_rcv', dev: dev.name }, 'extension header runs past the packet');
        return;
      }
      if (nh === 60 && !parseTlv(dp, skb, dev, p, false)) return;
      if (nh === 43 && b[p + 3] !== 0) return unmodelled(dp, skb, dev, `routing header type ${b[p + 2]} with ${b[p + 3]} segments left: source routing is not modelled`);
      nhOff = p;
      nh = b[p];
      p += (b[p + 1] + 1) << 3;
      continue;
    }
    break;
  }
  if (nh === 44) return unmodelled(dp, skb, dev, 'IPv6 fragment to a local address: reassembly (ipv6_frag_rcv) is not modelled yet');
  if (nh === 50 || nh === 51) return unmodelled(dp, skb, dev, `${nh === 50 ? 'ESP' : 'AH'}: IPsec is not modelled`);
  if (nh === 59) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'dst_discard', dev: dev.name }, 'no next header');
    return;
  }
  switch (nh) {
    case 6:
      return tcpV6Rcv(dp, skb, dev);
    case 17:
      return udpV6Rcv(dp, skb, dev);
    case 58:
      return icmpv6Rcv(dp, skb, dev);
    default:
      icmp6Send(dp, skb, ICMP6_PARAM_PROB, 1, nhOff - o, 'unknown next header');
      dp.drop(skb, DR.IP_NOPROTO, { stage: 'ip6_protocol_deliver_rcu', dev: dev.name }, `next header ${nh}`);
  }
}

function problem(skb: Skb, name: string): boolean {
  return skb.info.problemList.some((p) => dropReasonName(p) === name);
}

/** The transport header is missing because the capture's snaplen cut it, not because it was short on the wire. */
function cutByCapture(dp: Datapath, skb: Skb, dev: NetDevice): boolean {
  const i = skb.info;
  if (!(i.caplen < i.len) || !problem(skb, 'HDR_TRUNC')) return false;
  unmodelled(dp, skb, dev, 'the capture cut the transport header short (snaplen): it cannot be evaluated');
  return true;
}

function delivered(dp: Datapath, skb: Skb, dev: NetDevice, s: Sock): void {
  const ns = dev.ns;
  s.delivered++;
  if (dp.tracing) dp.step({ kind: 'socket', ns: ns.name, socket: s.name() });
  const rec = dp.recOf(skb);
  if (!skb.generated) dp.final(rec, { verdict: 'delivered', ns: ns.name, dev: dev.name, socket: s.name(), ...(dp.tracing || (rec && rec.nat.length) ? { out: hdrOf(skb)! } : {}) });
  else dp.emittedFate(skb, `delivered to ${ns.name} socket ${s.name()}`);
}

/** tcp_v6_rcv(). */
function tcpV6Rcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  const w = { stage: 'tcp_v6_rcv', dev: dev.name };
  if (skb.pktType !== PACKET_HOST) return dp.drop(skb, DR.NOT_SPECIFIED, w, 'not addressed to this host at the link layer');
  if (cutByCapture(dp, skb, dev)) return;
  if (i.sport < 0 || problem(skb, 'PKT_TOO_SMALL')) return dp.drop(skb, DR.PKT_TOO_SMALL, w);
  if (problem(skb, 'TCP_CSUM')) return dp.drop(skb, DR.TCP_CSUM, w);
  const s = lookupSock6(dev.ns, 'tcp', skb);
  if (s) return delivered(dp, skb, dev, s);
  if (!(i.tcpFlags & 4)) tcpV6SendReset(dp, skb, 'no socket');
  dp.drop(skb, DR.NO_SOCKET, w, `no socket for tcp [${formatIpv6(skb.data, i.dstOff)}]:${i.dport}`);
}

/** udpv6_rcv() → __udp6_lib_rcv(). */
function udpV6Rcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  const w = { stage: '__udp6_lib_rcv', dev: dev.name };
  if (cutByCapture(dp, skb, dev)) return;
  if (i.sport < 0 || problem(skb, 'PKT_TOO_SMALL')) return dp.drop(skb, DR.PKT_TOO_SMALL, w);
  if (problem(skb, 'UDP_CSUM')) return dp.drop(skb, DR.UDP_CSUM, w);
  const s = lookupSock6(dev.ns, 'udp', skb);
  if (s) return delivered(dp, skb, dev, s);
  if (isMulticast6(skb.data, i.dstOff)) {
    // __udp6_lib_mcast_deliver(): nobody joined: freed, no ICMPv6.
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: '__udp6_lib_mcast_deliver', dev: dev.name }, 'no socket for the group');
    return;
  }
  icmp6Send(dp, skb, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0, 'no socket');
  dp.drop(skb, DR.NO_SOCKET, w, `no socket for udp [${formatIpv6(skb.data, i.dstOff)}]:${i.dport}`);
}

/** icmpv6_rcv(): checksum, then echo, errors, neighbour discovery, MLD, the rest ignored. */
function icmpv6Rcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const i = skb.info, b = skb.data;
  const w = { stage: 'icmpv6_rcv', dev: dev.name };
  if (cutByCapture(dp, skb, dev)) return;
  if (i.icmpType < 0 || problem(skb, 'PKT_TOO_SMALL')) return dp.drop(skb, DR.PKT_TOO_SMALL, w);
  if (problem(skb, 'ICMP_CSUM')) return dp.drop(skb, DR.ICMP_CSUM, w);
  const rec = dp.recOf(skb);
  const done = (detail: string) => {
    if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: detail });
    if (!skb.generated) dp.final(rec, { verdict: 'consumed', ns: ns.name, dev: dev.name, detail });
    else dp.emittedFate(skb, `consumed by ${ns.name} (${detail})`);
  };
  const t = i.icmpType;
  if (t === 128) {
    // icmpv6_echo_reply(), unless told to ignore all, multicast or anycast requests.
    const mc = isMulticast6(b, i.dstOff);
    const ignore = icmp6Param(ns, 'echo_ignore_all', 0) !== 0 || (mc && icmp6Param(ns, 'echo_ignore_multicast', 0) !== 0) ||
      (devAnycast6(ns, dev, b, i.dstOff) && icmp6Param(ns, 'echo_ignore_anycast', 0) !== 0);
    if (!ignore) icmpv6EchoReply(dp, skb);
    return done(ignore ? 'ICMPv6 echo request ignored (net.ipv6.icmp.echo_ignore_*)' : 'ICMPv6 echo answered by the kernel');
  }
  if (t === 129) {
    // ping_rcv(): only an unprivileged ICMP socket would take it; those and raw sockets are not in `ss -tuanp`.
    dp.drop(skb, DR.NO_SOCKET, { stage: 'ping_rcv', dev: dev.name }, 'no ping socket (raw and ICMP sockets are not in the snapshot)');
    return;
  }
  if (icmpv6IsNd(t)) return ndiscRcv(dp, skb, dev);
  if (t >= 1 && t <= 4) return done(`ICMPv6 error type ${t} code ${i.icmpCode} (icmpv6_notify)`);
  if (t === 130 || t === 131 || t === 132 || t === 143) return done(`MLD message type ${t}`);
  done(`ICMPv6 type ${t} ignored`);
}

const parsedLocal = new WeakMap<Sock, Uint8Array | null>();
const parsedPeer = new WeakMap<Sock, Uint8Array | null>();

function sockAddr(map: WeakMap<Sock, Uint8Array | null>, s: Sock, field: number): Uint8Array | null {
  if (map.has(s)) return map.get(s)!;
  let a: Uint8Array | null = null;
  const f = s.text.split(/\s+/)[field];
  if (f) {
    const k = f.lastIndexOf(':');
    let t = f.slice(0, k);
    if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
    const pct = t.indexOf('%');
    if (pct >= 0) t = t.slice(0, pct);
    if (t !== '*' && t !== '::' && t.includes(':')) a = parseIpv6Addr(t);
  }
  map.set(s, a);
  return a;
}

/**
 * Socket lookup for an IPv6 segment (__inet6_lookup / __udp6_lib_lookup): a connected socket matching
 * both ends first, then the most specific listener / bound socket (its address beats the wildcard:
 * `*:80` dual-stack and `[::]:80` v6only both take IPv6). IPv4 sockets never do.
 */
export function lookupSock6(ns: Netns, proto: 'tcp' | 'udp', skb: Skb): Sock | null {
  const i = skb.info, b = skb.data;
  let best: Sock | null = null;
  let bestScore = -1;
  for (const s of socketsOnPort(ns.sockets, proto, i.dport)) {
    if (s.proto !== proto || s.family !== 6 || s.localPort !== i.dport) continue;
    const local = s.local6 === '::' ? null : sockAddr(parsedLocal, s, 4);
    if (local && !eq6(local, 0, b, i.dstOff)) continue;
    if (s.peerPort !== 0) {
      const peer = sockAddr(parsedPeer, s, 5);
      if (peer && eq6(peer, 0, b, i.srcOff) && s.peerPort === i.sport) return s;
      continue;
    }
    if (proto === 'tcp' && s.state !== 'LISTEN') continue;
    const score = local ? 3 : 2;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

