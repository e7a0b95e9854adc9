/**
 * IPv4 input (net/ipv4/ip_input.c, route.c ip_route_input_slow, fib_frontend.c fib_validate_source):
 * header checks, PREROUTING, the input route (local / forward / error), rp_filter, and local
 * delivery through INPUT to a socket, an ICMP answer, or a RST / port unreachable.
 */
import type { Datapath } from './datapath.js';
import { hdrOf } from './datapath.js';
import type { NetDevice } from './netdev.js';
import { PACKET_HOST, PACKET_OTHERHOST, type Skb } from './skb.js';
import { DR, dropReasonName } from './drop_reason.js';
import { nfHookIpv4 } from './nf_hook.js';
import { RTN_BROADCAST, RTN_LOCAL, RTN_UNICAST, tableName, RTN_MULTICAST, type FibRoute, type FibResult, type FibNh } from './route.js';
import { intern, DEV_STEP_RPF_PASS, type Step } from './record.js';
import { formatIpv4 } from './inet.js';
import { ipForward } from './ip_forward.js';
import { icmpSend, icmpEchoReply, tcpV4SendReset } from './icmp.js';
import { lookupSock4 } from './socket.js';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_PKT_FILTERED, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH } from './wire/icmp.js';

/** ipRouteInput results. */
export const ROUTE_LOCAL = 0,
  ROUTE_FORWARD = 1,
  ROUTE_ERROR = 2,
  ROUTE_DROPPED = 3;

/** ip_rcv_core(): the checks before PREROUTING. False when the packet was dropped (reported). */
export function ipRcvCore(dp: Datapath, skb: Skb, dev: NetDevice): boolean {
  if (skb.pktType === PACKET_OTHERHOST) {
    dp.drop(skb, DR.OTHERHOST, { stage: 'ip_rcv_core', dev: dev.name }, 'destination MAC is another host');
    return false;
  }
  const i = skb.info;
  if (i.problems > 0) {
    // Header problems the kernel checks here (ip_rcv_core: version, ihl, length, checksum).
    for (let k = 0; k < i.problemList.length; k++) {
      const p = dropReasonName(i.problemList[k]);
      if (p === 'IP_INHDR' || p === 'IP_CSUM' || p === 'PKT_TOO_SMALL' || p === 'HDR_TRUNC') {
        if (p === 'HDR_TRUNC' && i.caplen < i.len) continue; // cut by the capture's snaplen, not on the wire
        dp.drop(skb, i.problemList[k], { stage: 'ip_rcv_core', dev: dev.name });
        return false;
      }
    }
  }
  return true;
}

/** ip_rcv(): IPv4 arrives on dev. */
export function ipRcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.iif = dev;
  skb.oif = null;
  if (!ipRcvCore(dp, skb, dev)) return;
  if (!nfHookIpv4(dp, skb, 'prerouting')) return;
  ipRcvFinish(dp, skb, dev);
}

/** ip_rcv_finish(): route the packet, then deliver or forward. */
export function ipRcvFinish(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.iif = dev;
  const i = skb.info;
  const r = ipRouteInput(dp, skb, i.dst4, i.src4, dev, false);
  if (r === ROUTE_LOCAL) ipLocalDeliver(dp, skb, dev);
  else if (r === ROUTE_FORWARD) ipForward(dp, skb, dev);
}

/** An input route failure: reported unless arp_process asked (silent). */
function routeFail(dp: Datapath, skb: Skb, dev: NetDevice, silent: boolean, reason: number, stage: string, detail: string): number {
  if (!silent) dp.drop(skb, reason, { stage, dev: dev.name }, detail);
  return ROUTE_DROPPED;
}

function isZeronet(a: number): boolean {
  return a >>> 24 === 0;
}
function isLoopback(a: number): boolean {
  return a >>> 24 === 127;
}

/**
 * ip_route_input_slow(): decide local / forward / error for (daddr, saddr) arriving on dev.
 * `arpCheck` is arp_process's use: only LOCAL matters and failures are silent.
 */
export function ipRouteInput(dp: Datapath, skb: Skb, daddr: number, saddr: number, dev: NetDevice, arpCheck: boolean): number {
  const ns = dev.ns;
  const sc = ns.sysctl;
  const fl = dp.fl;
  const res = dp.fres;
  const silent = arpCheck;
  // Martian sources and destinations (ip_route_input_slow).
  if ((saddr >>> 28) === 0xe || saddr === 0xffffffff) return routeFail(dp, skb, dev, silent, DR.IP_INVALID_SOURCE, 'ip_route_input_slow', `martian source ${formatIpv4(saddr)}`);
  if (daddr === 0xffffffff || (saddr === 0 && daddr === 0xffffffff)) {
    if (dp.tracing && !arpCheck) dp.step({ kind: 'route', ns: ns.name, table: 'local', rule: '', route: 'limited broadcast', result: 'broadcast' });
    return ROUTE_LOCAL;
  }
  if ((daddr >>> 28) === 0xe) return routeFail(dp, skb, dev, silent, DR.NOT_SPECIFIED, 'ip_route_input_mc', 'multicast input is not modelled');
  if (isZeronet(saddr)) return routeFail(dp, skb, dev, silent, DR.IP_INVALID_SOURCE, 'ip_route_input_slow', `martian source ${formatIpv4(saddr)}`);
  if (isZeronet(daddr)) return routeFail(dp, skb, dev, silent, DR.IP_INVALID_DEST, 'ip_route_input_slow', `martian destination ${formatIpv4(daddr)}`);
  const conf = sc.conf(dev.name);
  const localnet = conf.routeLocalnet;
  // 127/8 from outside: IP_LOCALNET (ip_route_input_slow, route_localnet off; kfree_skb in ip_rcv_finish_core).
  if (isLoopback(daddr) && !localnet) return routeFail(dp, skb, dev, silent, DR.IP_LOCALNET, 'ip_rcv_finish_core', `martian destination ${formatIpv4(daddr)}`);
  if (isLoopback(saddr) && !localnet) return routeFail(dp, skb, dev, silent, DR.IP_LOCALNET, 'ip_rcv_finish_core', `martian source ${formatIpv4(saddr)}`);

  fl.daddr = daddr;
  fl.saddr = saddr;
  fl.iif = dev;
  fl.oif = null;
  fl.mark = skb.mark;
  fl.tos = skb.info.tos & 0x1c;
  fl.proto = skb.info.l4proto;
  fl.sport = skb.info.sport < 0 ? 0 : skb.info.sport;
  fl.dport = skb.info.dport < 0 ? 0 : skb.info.dport;
  ns.fib4.lookup(fl, res);
  const route = res.route;
  const ruleText = res.rule ? res.rule.traceText : '';
  const forwarding = conf.forwarding;
  if (res.err !== null) {
    if (arpCheck) return ROUTE_DROPPED;
    const rtext = route ? route.text : 'no route';
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table: res.table ? tableName(res.table) : '', rule: ruleText, route: rtext, result: res.err });
    // no_route / ip_error(): EHOSTUNREACH when forwarding is off; reasons as observed (datapath-facts §8).
    ipError(dp, skb, dev, forwarding ? res.err : res.err === 'ENETUNREACH' ? 'ENETUNREACH' : 'EHOSTUNREACH', forwarding, rtext);
    return ROUTE_ERROR;
  }
  const r = route!;
  if (r.type === RTN_BROADCAST) {
    if (dp.tracing && !arpCheck) dp.step(routeStep(r, res, ROUTE_STEP_BROADCAST, ns.name, null));
    if (!arpCheck) skb.rt = r;
    return ROUTE_LOCAL;
  }
  if (r.type === RTN_LOCAL) {
    if (!fibValidateSource(dp, skb, saddr, daddr, dev, silent)) return ROUTE_DROPPED;
    if (!arpCheck) skb.rt = r;
    if (dp.tracing && !arpCheck) dp.step(routeStep(r, res, ROUTE_STEP_LOCAL, ns.name, null));
    return ROUTE_LOCAL;
  }
  if (arpCheck) return ROUTE_DROPPED;
  if (!forwarding) {
    // ip_route_input_slow: !IN_DEV_FORWARD → EHOSTUNREACH → ip_error counts IpInAddrErrors, sends nothing.
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table: tableName(res.table), rule: ruleText, route: r.text, result: `forwarding disabled on ${dev.name}` });
    dp.drop(skb, DR.IP_INADDRERRORS, { stage: 'ip_error', dev: dev.name, route: r.text }, `net.ipv4.conf.${dev.name}.forwarding = 0`);
    return ROUTE_ERROR;
  }
  if (r.type !== RTN_UNICAST) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ip_route_input_slow', dev: dev.name, route: r.text }, `route type ${r.type === RTN_MULTICAST ? 'multicast' : r.type} is not modelled for input`);
    return ROUTE_ERROR;
  }
  if (!fibValidateSource(dp, skb, saddr, daddr, dev, silent)) return ROUTE_DROPPED;
  const nh = r.nh[0];
  skb.rt = r;
  skb.oif = nh?.dev ?? null;
  skb.nexthop = nh?.gw ? nh.gw : 0;
  if (dp.tracing) dp.step(routeStep(r, res, ROUTE_STEP_FORWARD, ns.name, nh ?? null));
  return ROUTE_FORWARD;
}

const ROUTE_STEP_FORWARD = 0;
const ROUTE_STEP_LOCAL = 1;
const ROUTE_STEP_BROADCAST = 2;

/**
 * The route step of an input lookup, interned on the route per rule and result: its text depends
 * only on those (the table is the route's, oif and via its first nexthop's).
 */
function routeStep(r: FibRoute, res: FibResult, kind: number, ns: string, nh: FibNh | null): Step {
  const m = (r.traceSteps ??= new Map());
  let a = m.get(res.rule);
  if (!a) m.set(res.rule, (a = []));
  return (a[kind] ??= intern({
    kind: 'route', ns, table: tableName(res.table), rule: res.rule ? res.rule.traceText : '', route: r.text,
    result: kind === ROUTE_STEP_FORWARD ? 'forward' : kind === ROUTE_STEP_LOCAL ? 'local' : 'broadcast',
    ...(nh?.dev ? { oif: nh.dev.name } : {}), ...(nh?.gw ? { via: formatIpv4(nh.gw) } : {}),
  })) as Step;
}

/**
 * fib_validate_source() / __fib_validate_source(): reverse-path filter. Strict (1): the best route
 * back to saddr must leave by dev; loose (2): any route back. accept_local decides local sources.
 */
function fibValidateSource(dp: Datapath, skb: Skb, saddr: number, daddr: number, dev: NetDevice, silent: boolean): boolean {
  const ns = dev.ns;
  const conf = ns.sysctl.conf(dev.name);
  const rpf = conf.rpFilter;
  const localSrc = ns.local4.has(saddr);
  if (localSrc && !conf.acceptLocal) {
    // A packet claiming one of our own addresses as source (fib_validate_source: RTN_LOCAL → -EINVAL).
    if (!silent) dp.drop(skb, DR.IP_LOCAL_SOURCE, { stage: 'fib_validate_source', dev: dev.name }, `source ${formatIpv4(saddr)} is a local address`);
    return false;
  }
  if (rpf === 0) return true;
  const fl = dp.flRpf;
  const res = dp.fresRpf;
  fl.daddr = saddr;
  fl.saddr = daddr;
  fl.iif = ns.loopback();
  fl.oif = null;
  fl.mark = skb.mark;
  fl.tos = 0;
  fl.proto = 0;
  fl.sport = 0;
  fl.dport = 0;
  ns.fib4.lookup(fl, res);
  let ok: boolean;
  if (res.err !== null || !res.route) ok = false;
  else if (rpf === 2) ok = true;
  else {
    ok = false;
    for (const nh of res.route.nh) if (nh.dev === dev) ok = true;
  }
  const mode = rpf === 1 ? 'strict' : 'loose';
  if (dp.tracing && !silent) {
    if (ok) dp.step((dev.traceSteps[DEV_STEP_RPF_PASS + rpf] ??= intern({ kind: 'rpfilter', ns: ns.name, dev: dev.name, mode, result: 'pass' })) as Step);
    else dp.step({ kind: 'rpfilter', ns: ns.name, dev: dev.name, mode, result: `fail: best route back to ${formatIpv4(saddr)} is ${res.route ? res.route.text : 'none'}` });
  }
  if (!ok && !silent) dp.drop(skb, DR.IP_RPFILTER, { stage: 'ip_rcv_finish_core', dev: dev.name }, `${mode} rp_filter on ${dev.name}`);
  return ok;
}

/**
 * ip_error(): the input route was an error route or none. ICMP per error (host unreachable, net
 * unreachable, packet filtered; blackhole silent), rate-limited per source host (error_cost 1 s,
 * burst 5 s: route.c ip_error).
 */
function ipError(dp: Datapath, skb: Skb, dev: NetDevice, err: string, forwarding: boolean, rtext: string): void {
  let code = -1;
  let reason: number = DR.NOT_SPECIFIED;
  if (!forwarding) {
    reason = err === 'ENETUNREACH' ? DR.IP_INNOROUTES : DR.IP_INADDRERRORS;
    dp.drop(skb, reason, { stage: 'ip_error', dev: dev.name, route: rtext }, `net.ipv4.conf.${dev.name}.forwarding = 0`);
    return;
  }
  if (err === 'EHOSTUNREACH') code = ICMP_HOST_UNREACH;
  else if (err === 'ENETUNREACH') {
    code = ICMP_NET_UNREACH;
    reason = DR.IP_INNOROUTES;
  } else if (err === 'EACCES') code = ICMP_PKT_FILTERED;
  if (code >= 0 && ipErrorRateOk(dp, skb)) icmpSend(dp, skb, ICMP_DEST_UNREACH, code, 0, 'ip_error');
  dp.drop(skb, reason, { stage: 'ip_error', dev: dev.name, route: rtext }, err === 'EINVAL' ? 'blackhole' : err);
}

/**
 * ip_error()'s limit: its own bucket per host, not the ICMP error limit's (the router lab's kernel
 * answered as if they did not share tokens: tests/kernel/verify.test.ts, the router lab's MTU
 * case after its ip_error cases).
 */
function ipErrorRateOk(dp: Datapath, skb: Skb): boolean {
  const rt = dp.nsrt(skb.ns!);
  const key = skb.info.src4;
  const kCost = 1, kBurst = 5; // ip_rt_error_cost = HZ, ip_rt_error_burst = 5 * HZ
  let p = rt.ipErrorPeers.get(key);
  if (!p) rt.ipErrorPeers.set(key, (p = { tokens: kBurst, last: dp.now }));
  else {
    p.tokens = Math.min(kBurst, p.tokens + (dp.now - p.last));
    p.last = dp.now;
  }
  if (p.tokens >= kCost) {
    p.tokens -= kCost;
    return true;
  }
  return false;
}

/** ip_local_deliver(): INPUT hook, then the transport protocol. */
export function ipLocalDeliver(dp: Datapath, skb: Skb, dev: NetDevice): void {
  skb.oif = null;
  if (!nfHookIpv4(dp, skb, 'input')) return;
  ipLocalDeliverFinish(dp, skb, dev);
}

/** ip_local_deliver_finish() → tcp_v4_rcv / udp_rcv / icmp_rcv. */
function ipLocalDeliverFinish(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const i = skb.info;
  const rec = dp.recOf(skb);
  const csumProblem = (name: string) => i.problemList.some((p) => dropReasonName(p) === name);
  if (i.fragOff > 0 || i.moreFrags) {
    // Without conntrack nothing reassembles before here; ip_defrag would. We do not reassemble yet.
    if (!skb.generated) dp.final(rec, { verdict: 'unmodelled', ns: ns.name, dev: dev.name, detail: 'IPv4 fragment to a local address: reassembly (ip_defrag) is not modelled yet' });
    return;
  }
  switch (i.l4proto) {
    case 6: {
      if (csumProblem('TCP_CSUM')) return dp.drop(skb, DR.TCP_CSUM, { stage: 'tcp_v4_rcv', dev: dev.name });
      if (deliverToSocket(dp, skb, dev, 'tcp')) return;
      // tcp_v4_rcv no_tcp_socket: answer with RST unless it is one (tcp_v4_send_reset).
      if (!(i.tcpFlags & 4)) tcpV4SendReset(dp, skb, 'no socket');
      dp.drop(skb, DR.NO_SOCKET, { stage: 'tcp_v4_rcv', dev: dev.name }, `no socket for tcp ${formatIpv4(i.dst4)}:${i.dport}`);
      return;
    }
    case 17: {
      if (csumProblem('UDP_CSUM')) return dp.drop(skb, DR.UDP_CSUM, { stage: 'udp_rcv', dev: dev.name });
      if (deliverToSocket(dp, skb, dev, 'udp')) return;
      // __udp4_lib_rcv: no socket → ICMP port unreachable (not for broadcast/multicast).
      if (skb.pktType === PACKET_HOST && !((i.dst4 >>> 28) === 0xe) && i.dst4 !== 0xffffffff) icmpSend(dp, skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, 'no socket');
      dp.drop(skb, DR.NO_SOCKET, { stage: '__udp4_lib_rcv', dev: dev.name }, `no socket for udp ${formatIpv4(i.dst4)}:${i.dport}`);
      return;
    }
    case 1: {
      if (csumProblem('ICMP_CSUM')) return dp.drop(skb, DR.ICMP_CSUM, { stage: 'icmp_rcv', dev: dev.name });
      const bcast = i.dst4 === 0xffffffff || (i.dst4 >>> 28) === 0xe || (skb.rt !== null && skb.rt.type === RTN_BROADCAST);
      if ((i.icmpType === 8 || i.icmpType === 13) && bcast && ns.sysctl.int('net.ipv4.icmp_echo_ignore_broadcasts', 1) !== 0) {
        // icmp_rcv(): echo/timestamp to a broadcast or multicast address is ignored (RFC 1122 3.2.2.6).
        return dp.drop(skb, DR.INVALID_PROTO, { stage: 'icmp_rcv', dev: dev.name }, 'echo to a broadcast address (net.ipv4.icmp_echo_ignore_broadcasts = 1)');
      }
      if (i.icmpType === 8) {
        // icmp_echo(): the kernel answers (net.ipv4.icmp_echo_ignore_all 0).
        if (ns.sysctl.int('net.ipv4.icmp_echo_ignore_all') === 0) icmpEchoReply(dp, skb);
        if (!skb.generated) dp.final(rec, { verdict: 'consumed', ns: ns.name, dev: dev.name, detail: 'ICMP echo answered by the kernel' });
        else dp.emittedFate(skb, `consumed by ${ns.name} (icmp echo)`);
        return;
      }
      if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `ICMP type ${i.icmpType} code ${i.icmpCode} handled by icmp_rcv` });
      if (!skb.generated) dp.final(rec, { verdict: 'consumed', ns: ns.name, dev: dev.name, detail: `ICMP type ${i.icmpType} code ${i.icmpCode}` });
      else dp.emittedFate(skb, `delivered to ${ns.name} (icmp_rcv)`);
      return;
    }
    default:
      // No protocol handler: ICMP protocol unreachable (ip_protocol_deliver_rcu).
      icmpSend(dp, skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, 'no protocol');
      dp.drop(skb, DR.IP_NOPROTO, { stage: 'ip_protocol_deliver_rcu', dev: dev.name }, `protocol ${i.l4proto}`);
  }
}

/** __inet_lookup_skb / __udp4_lib_lookup_skb: hand the segment to its socket; false when none. */
function deliverToSocket(dp: Datapath, skb: Skb, dev: NetDevice, proto: 'tcp' | 'udp'): boolean {
  const ns = dev.ns;
  const i = skb.info;
  const s = lookupSock4(ns.sockets, proto, i.src4, i.sport, i.dst4, i.dport);
  if (!s) return false;
  s.delivered++;
  if (dp.tracing) dp.step({ kind: 'socket', ns: ns.name, socket: s.name() });
  const rec = dp.recOf(skb);
  if (!skb.generated) dp.final(rec, { verdict: 'delivered', ns: ns.name, dev: dev.name, socket: s.name(), ...(dp.tracing || (rec && rec.nat.length) ? { out: hdrOf(skb)! } : {}) });
  else dp.emittedFate(skb, `delivered to ${ns.name} socket ${s.name()}`);
  return true;
}
