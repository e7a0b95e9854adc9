/**
 * IPv4 output (net/ipv4/ip_output.c) and neighbour output (net/core/neighbour.c): locally generated
 * packets are routed, go through OUTPUT (re-routed if NAT changed the destination: ip_route_me_harder)
 * and POSTROUTING; ip_finish_output2 resolves the next hop. An unresolved neighbour queues the packet
 * and sends ARP probes; a reply releases the queue, and after the probes run out (NUD_FAILED) the queued
 * packets die with NEIGH_FAILED and an ICMP host unreachable (arp_error_report → ipv4_link_failure).
 */
import type { Datapath } from './datapath.js';
import type { Netns } from './netns.js';
import type { Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { neighOutput, neighTimerHandler as neighTimerRun, type NeighOps } from './neighbour.js';
import { nfHookIpv4 } from './nf_hook.js';
import { devQueueXmit } from './dev.js';
import { formatIpv4, formatMac } from './inet.js';
import { Neighbour, NUD_REACHABLE, NUD_STALE, NUD_VALID, nudName, type NeighTable } from './neigh.js';
import { arpSend } from './arp.js';
import { ARPOP_REQUEST } from './wire/arp.js';
import { icmpSend } from './icmp.js';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH } from './wire/icmp.js';
import { RTN_LOCAL, RTN_BROADCAST, tableName } from './route.js';

/** ip_route_output_key() for a locally generated packet; sets oif/nexthop. False when no route. */
export function ipRouteOutput(dp: Datapath, skb: Skb): boolean {
  const ns = skb.ns!;
  const fl = dp.fl;
  const res = dp.fres;
  const i = skb.info;
  fl.daddr = i.dst4;
  fl.saddr = i.src4;
  fl.iif = ns.loopback();
  fl.oif = null;
  fl.mark = skb.mark;
  fl.tos = i.tos & 0x1c;
  fl.proto = i.l4proto;
  fl.sport = i.sport < 0 ? 0 : i.sport;
  fl.dport = i.dport < 0 ? 0 : i.dport;
  ns.fib4.lookup(fl, res);
  const r = res.route;
  if (res.err !== null || !r) {
    if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table: res.table ? tableName(res.table) : '', rule: res.rule ? res.rule.text.replace(/\t/g, ' ') : '', route: r ? r.text : 'no route', result: res.err ?? 'ENETUNREACH' });
    const reason = res.err === 'EINVAL' ? DR.BLACKHOLE : DR.IP_OUTNOROUTES;
    dp.drop(skb, reason, { stage: 'ip_route_output_key', ...(r ? { route: r.text } : {}) }, res.err ?? 'ENETUNREACH');
    return false;
  }
  skb.rt = r;
  if (r.type === RTN_LOCAL) {
    skb.oif = ns.loopback();
    skb.nexthop = 0;
  } else {
    const nh = r.nh[0];
    skb.oif = nh?.dev ?? null;
    skb.nexthop = nh?.gw ?? 0;
  }
  if (dp.tracing) dp.step({ kind: 'route', ns: ns.name, table: tableName(res.table), rule: res.rule ? res.rule.text.replace(/\t/g, ' ') : '', route: r.text, result: r.type === RTN_LOCAL ? 'local' : 'output', ...(skb.oif ? { oif: skb.oif.name } : {}) });
  return true;
}

/** __ip_local_out(): route, OUTPUT hook (re-route after DNAT), then ip_output. */
export function ipLocalOut(dp: Datapath, skb: Skb): void {
  skb.iif = null;
  if (!ipRouteOutput(dp, skb)) return;
  const daddr = skb.info.dst4;
  const mark = skb.mark;
  if (!nfHookIpv4(dp, skb, 'output')) return;
  if (skb.info.dst4 !== daddr || skb.mark !== mark) {
    // ip_route_me_harder(): NAT or a mark changed the destination: route again.
    if (!ipRouteOutput(dp, skb)) return;
  }
  ipOutput(dp, skb);
}

/** ip_output(): POSTROUTING, then ip_finish_output2. */
export function ipOutput(dp: Datapath, skb: Skb): void {
  if (!nfHookIpv4(dp, skb, 'postrouting')) return;
  ipFinishOutput2(dp, skb);
}

/** ip_finish_output2(): pick the neighbour of the next hop and hand the packet to it. */
export function ipFinishOutput2(dp: Datapath, skb: Skb): void {
  const dev = skb.oif;
  if (!dev) {
    dp.drop(skb, DR.IP_OUTNOROUTES, { stage: 'ip_finish_output2' }, 'no output device');
    return;
  }
  const ns = dev.ns;
  if (dev.kind === 'loopback' || (skb.rt && skb.rt.type === RTN_LOCAL)) {
    // Local destination: loopback_xmit → netif_rx on lo.
    skb.setMacs(0, 0, 0, 0);
    devQueueXmit(dp, skb, ns.loopback() ?? dev);
    return;
  }
  const nh = skb.nexthop || skb.info.dst4;
  if (skb.rt && skb.rt.type === RTN_BROADCAST || nh === 0xffffffff) {
    skb.setMacs(0xffff, 0xffffffff, dev.macHi, dev.macLo);
    devQueueXmit(dp, skb, dev);
    return;
  }
  let n = ns.neigh.lookup(dev, nh);
  if (!n) n = ns.neigh.create(dev, nh);
  neighOutput(dp, skb, n as Neighbour<unknown>, arpNeighOps);
}


/**
 * arp_solicit() via neigh_probe(): the first ucast_solicit probes go unicast to the known address
 * (re-validation), the next app_solicit ones to a user-space daemon (no packet here), the rest
 * broadcast.
 */
function neighProbe(dp: Datapath, n: Neighbour<unknown>, cause: Skb | null): void {
  const dev = n.dev;
  const src = dev.primaryAddr4(n.addr) || dev.primaryAddr4();
  const k = n.probes - dev.ns.sysctl.neigh(dev.name, 'ucast_solicit');
  const unicast = k < 0 && n.macHi >= 0;
  n.probes++;
  if (!unicast && k - dev.ns.sysctl.neigh(dev.name, 'app_solicit') < 0) return; // neigh_app_ns
  // Attributed to the packet waiting for the answer; a re-validation probe (PROBE state, nothing
  // queued) belongs to no input packet but still goes out (and shows in --pcap-out).
  const c = cause ?? (n.queue[0] as Skb | undefined) ?? null;
  const saved = dp.rec;
  dp.rec = c ? dp.recOf(c) : null;
  arpSend(dp, c, ARPOP_REQUEST, dev, src, n.addr, unicast ? n.macHi : 0xffff, unicast ? n.macLo : 0xffffffff, unicast ? n.macHi : -1, unicast ? n.macLo : -1);
  dp.rec = saved;
}

function neighQueueDrop(dp: Datapath, skb: Skb, reason: number, n: Neighbour<unknown>, detail: string): void {
  const saved = dp.rec;
  const rec = dp.recOf(skb);
  dp.rec = rec;
  dp.drop(skb, reason, { stage: reason === DR.NEIGH_FAILED ? 'neigh_invalidate' : '__neigh_event_send', dev: n.dev.name }, detail);
  if (reason === DR.NEIGH_FAILED && skb.info.l3 === 1) {
    // arp_error_report → ipv4_link_failure → icmp_send(host unreachable).
    icmpSend(dp, skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, 'neigh failed');
  }
  dp.rec = saved;
  if (rec) dp.release(rec);
}

/** neigh_update(): new link-layer address and state; a valid entry releases its queue. */
export function neighUpdate(dp: Datapath, n: Neighbour<unknown>, hi: number, lo: number, state: number): void {
  const ns = n.dev.ns;
  n.macHi = hi;
  n.macLo = lo;
  n.state = state;
  n.updated = dp.now;
  if (state & NUD_REACHABLE) {
    n.confirmed = dp.now;
    ns.neigh.setTimer(n, dp.now + ns.sysctl.neigh(n.dev.name, 'base_reachable_time_ms') / 1000);
  } else if (state & NUD_STALE) ns.neigh.setTimer(n, Infinity);
  if ((state & NUD_VALID) && n.queue.length) {
    const q = n.queue as Skb[];
    n.queue = [];
    for (const skb of q) {
      const saved = dp.rec;
      const savedSink = dp.sink;
      const rec = dp.recOf(skb);
      dp.rec = rec;
      dp.sink = skb.emitted?.steps ?? null; // a generated packet's steps go on its own entry
      if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: n.dev.name, addr: formatIpv4(n.addr), state: nudName(state), action: 'resolved: queued packet sent', lladdr: formatMac(hi, lo) });
      dp.depth = 0;
      // neigh->output(): a STALE entry goes DELAY as for any packet.
      neighOutput(dp, skb, n, arpNeighOps, true);
      dp.sink = savedSink;
      dp.rec = saved;
      if (rec) dp.release(rec);
    }
  }
}

/** ARP's part of the neighbour state machine (neighbour.ts): arp_solicit, arp_error_report. */
export const arpNeighOps: NeighOps = {
  table: (ns) => ns.neigh as NeighTable<unknown>,
  param: (ns, dev, key) => ns.sysctl.neigh(dev, key),
  solicit: (dp, n, cause) => neighProbe(dp, n, cause),
  queueFull: (dp, n, skb, limit) => neighQueueDrop(dp, skb, DR.NEIGH_QUEUEFULL, n, `unres_qlen ${limit} reached`),
  addrText: (n) => formatIpv4(n.addr),
  probeName: 'ARP request',
  invalidate(dp, n, skb, sent) {
    const ns = n.dev.ns;
    const saved = dp.rec;
    dp.rec = dp.recOf(skb);
    if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: n.dev.name, addr: formatIpv4(n.addr), state: 'FAILED', action: `no answer to ${sent} ARP probes` });
    dp.rec = saved;
    neighQueueDrop(dp, skb, DR.NEIGH_FAILED, n, `no ARP reply from ${formatIpv4(n.addr)} after ${sent} probes`);
  },
};

/** neigh_timer_handler() for the ARP table. */
export function neighTimerHandler(dp: Datapath, ns: Netns, now: number): void {
  neighTimerRun(dp, ns, arpNeighOps, now);
}
