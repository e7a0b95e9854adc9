/**
 * IPv6 output (net/ipv6/ip6_output.c, route.c ip6_route_output): locally generated packets are routed
 * (or sent straight to a device, as ndisc_send_skb does), go through OUTPUT (re-routed when NAT or a
 * mark changed the destination: ip6_route_me_harder) and POSTROUTING; ip6_finish_output2 maps
 * multicast destinations to 33:33:xx:xx:xx:xx and hands unicast ones to the neighbour of the next hop
 * (ndisc.ts). Local destinations go through the loopback device, as the kernel's local routes do
 * (ip6_rt_get_dev_rcu).
 *
 * For an IPv6 packet `skb.nexthop` holds the next hop's Addr6Ids id plus one (0: the destination
 * itself), so the one numeric field serves both families.
 */
import type { Datapath } from './datapath.js';
import type { NetDevice } from './netdev.js';
import type { Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { nfHookIpv6 } from './nf_hook.js';
import { devQueueXmit } from './dev.js';
import { neigh6Output } from './ndisc.js';
import { tableName } from './route.js';
import {
  RTN_ANYCAST, RTN_LOCAL, RTN_MULTICAST, eq6, formatIpv6, isMulticast6, mcScope6, mcastMac6, needStrict6, sysctl6,
} from './route6.js';

/**
 * ip6_route_output(): route a locally generated packet; sets oif and the next hop. `oif` binds the
 * flow to a device (strict for link-local and multicast destinations, a preference otherwise). False
 * (reported) when there is no route.
 */
export function ip6RouteOutput(dp: Datapath, skb: Skb, oif: NetDevice | null): boolean {
  const ns = skb.ns!;
  const fl = dp.fl6;
  const res = dp.fres6;
  const i = skb.info;
  fl.setAddrs(skb.data, i.dstOff, i.srcOff);
  fl.iif = null;
  fl.oif = oif;
  fl.mark = skb.mark;
  fl.proto = i.l4proto;
  fl.sport = i.sport < 0 ? 0 : i.sport;
  fl.dport = i.dport < 0 ? 0 : i.dport;
  fl.tclass = i.tos < 0 ? 0 : i.tos;
  fl.strict = oif !== null && needStrict6(skb.data, i.dstOff);
  ns.fib6.lookup(fl, res);
  const r = res.route;
  const ruleText = res.rule ? res.rule.text.replace(/\t/g, ' ') : '';
  if (res.err !== null || !r) {
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table: res.table ? tableName(res.table) : '', rule: ruleText, route: r ? r.text : 'no route', result: res.err ?? 'ENETUNREACH' });
    const reason = res.err === 'EINVAL' ? DR.BLACKHOLE : DR.IP_OUTNOROUTES;
    dp.drop(skb, reason, { stage: 'ip6_route_output', ...(r ? { route: r.text } : {}) }, res.err ?? 'ENETUNREACH');
    return false;
  }
  if (r.type === RTN_LOCAL || r.type === RTN_ANYCAST) {
    skb.oif = ns.loopback();
    skb.nexthop = 0;
  } else {
    const nh = res.nh ?? r.nh[0] ?? null;
    skb.oif = nh?.dev ?? null;
    skb.nexthop = nh?.gw && r.type !== RTN_MULTICAST ? ns.addr6Ids.id(nh.gw) + 1 : 0;
  }
  if (dp.tracing) {
    const gw = skb.nexthop ? formatIpv6(ns.addr6Ids.addr(skb.nexthop - 1)) : null;
    dp.step({ kind: 'route', ns: ns.name, table: tableName(res.table), rule: ruleText, route: r.text, result: r.type === RTN_LOCAL || r.type === RTN_ANYCAST ? 'local' : 'output', ...(skb.oif ? { oif: skb.oif.name } : {}), ...(gw ? { via: gw } : {}) });
  }
  return true;
}

const daddrSave = new Uint8Array(16);

/**
 * ip6_local_out(): route (or take `dev` as the route, for neighbour discovery messages), OUTPUT,
 * re-route if the destination or mark changed, then ip6_output.
 */
export function ip6LocalOut(dp: Datapath, skb: Skb, oif: NetDevice | null, dev: NetDevice | null = null): void {
  skb.iif = null;
  if (dev) {
    skb.oif = dev;
    skb.nexthop = 0;
  } else if (!ip6RouteOutput(dp, skb, oif)) return;
  const i = skb.info;
  daddrSave.set(skb.data.subarray(i.dstOff, i.dstOff + 16));
  const mark = skb.mark;
  if (!nfHookIpv6(dp, skb, 'output')) return;
  if (!dev && (!eq6(skb.data, skb.info.dstOff, daddrSave, 0) || skb.mark !== mark)) {
    // ip6_route_me_harder(): NAT or a mark changed the flow: route again.
    if (!ip6RouteOutput(dp, skb, oif)) return;
  }
  ip6Output(dp, skb);
}

/** ip6_output(): IPv6 disabled on the device drops; else POSTROUTING, then ip6_finish_output2. */
export function ip6Output(dp: Datapath, skb: Skb): void {
  const dev = skb.oif;
  if (dev && sysctl6(dev.ns, dev.name, 'disable_ipv6') !== 0) {
    dp.drop(skb, DR.IPV6DISABLED, { stage: 'ip6_output', dev: dev.name }, `net.ipv6.conf.${dev.name}.disable_ipv6 = 1`);
    return;
  }
  if (!nfHookIpv6(dp, skb, 'postrouting')) return;
  ip6FinishOutput2(dp, skb);
}

/** ip6_finish_output2(): loopback, multicast mapping, or the next hop's neighbour. */
export function ip6FinishOutput2(dp: Datapath, skb: Skb): void {
  const dev = skb.oif;
  if (!dev) {
    dp.drop(skb, DR.IP_OUTNOROUTES, { stage: 'ip6_finish_output2' }, 'no output device');
    return;
  }
  const ns = dev.ns;
  const b = skb.data;
  const i = skb.info;
  if (dev.kind === 'loopback') {
    skb.setMacs(0, 0, 0, 0);
    devQueueXmit(dp, skb, dev);
    return;
  }
  if (isMulticast6(b, i.dstOff)) {
    // Interface- and node-local scope never leaves the host; the group's MAC otherwise (ndisc_mc_map).
    if (mcScope6(b, i.dstOff) <= 1) {
      dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ip6_finish_output2', dev: dev.name }, 'node-local multicast on a non-loopback device');
      return;
    }
    const m = mcastMac6(b, i.dstOff);
    skb.setMacs(m.hi, m.lo, dev.macHi, dev.macLo);
    devQueueXmit(dp, skb, dev);
    return;
  }
  const id = skb.nexthop ? skb.nexthop - 1 : ns.addr6Ids.id(b, i.dstOff);
  let n = ns.neigh6.lookup(dev, id);
  if (!n) n = ns.neigh6.create(dev, id);
  neigh6Output(dp, skb, n);
}

