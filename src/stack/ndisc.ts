/**
 * IPv6 neighbour discovery (net/ipv6/ndisc.c) and the IPv6 side of the neighbour state machine
 * (net/core/neighbour.c with nd_tbl): NS/NA reception and sending, resolution with queued packets,
 * and the timers, driven by the capture clock.
 *
 *   unresolved next hop ─► INCOMPLETE: packet queued, NS to the solicited-node group (from the
 *       queued packet's source if it is ours on the device, else the device's link-local address),
 *       3 NS (mcast_solicit) retrans_time apart ─► NA ─► REACHABLE, queue sent
 *                                               └► none: FAILED, each queued packet dropped
 *                                                  (ndisc_error_report: NOT_SPECIFIED) with an
 *                                                  ICMPv6 address unreachable
 *   NS from a neighbour ─► its entry STALE (source link-layer option), NA back through the neighbour
 *       (STALE → DELAY) ─► delay_first_probe_time later PROBE: unicast NS, ucast_solicit times
 *
 * Entries live in Netns.neigh6, the IPv4 NeighTable keyed by Addr6Ids ids. Differences from the
 * kernel are listed in the README (timer slack, no randomised reachable_time).
 */
import { neighOutput, neighTimerHandler as neighTimerRun, type NeighOps } from './neighbour.js';
import type { Datapath } from './datapath.js';
import type { Netns } from './netns.js';
import type { NetDevice } from './netdev.js';
import type { Step } from './record.js';
import { Skb } from './skb.js';
import { DR, dropReason, dropReasonName } from './drop_reason.js';
import { formatMac } from './inet.js';
import {
  Neighbour, NUD_CONNECTED, NUD_DELAY, NUD_FAILED, NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_PROBE,
  NUD_REACHABLE, NUD_STALE, NUD_VALID, nudName, type NeighTable,
} from './neigh.js';
import { decodeFrame } from './wire/decode.js';
import { writeEthernet, ETH_P_IPV6 } from './wire/ethernet.js';
import { writeIpv6 } from './wire/ipv6.js';
import { writeNdNa, writeNdNs, ND_NA_OVERRIDE, ND_NA_ROUTER, ND_NA_SOLICITED, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, ND_ROUTER_SOLICIT } from './wire/icmpv6.js';
import { ip6LocalOut } from './ip6_output.js';
import { icmp6Send } from './icmp6.js';
import { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR } from './wire/icmpv6.js';
import {
  devAddr6, devAnycast6, formatIpv6, ipv6DevGetSaddr, isMulticast6, isSolicitedNode6, isUnspecified6, linkLocal6,
  neigh6Param, solicitedNode6, sysctl6,
} from './route6.js';

/** neigh_update() flags (include/net/neighbour.h NEIGH_UPDATE_F_*). */
export const NEIGH_UPDATE_F_OVERRIDE = 1, NEIGH_UPDATE_F_WEAK_OVERRIDE = 2, NEIGH_UPDATE_F_ADMIN = 4;

const kEthHlen = 14;
const DR_NS_OTHERHOST = dropReason('IPV6_NDISC_NS_OTHERHOST');
const ALL_NODES = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const mcScratch = new Uint8Array(16);

function addrText(ns: Netns, n: Neighbour<unknown>): string {
  return formatIpv6(ns.addr6Ids.addr(n.addr));
}

// ---------------------------------------------------------------------------------------------
// Receive.

/** The source/target link-layer address option of an ND message, or null (ndisc_parse_options). */
function lladdrOpt(skb: Skb, optStart: number, want: number): { hi: number; lo: number } | null {
  const b = skb.data, i = skb.info;
  const end = Math.min(i.l3Off + i.l3Len, skb.len);
  if (i.ndLladdrOff >= 0 && (want === 1 ? i.icmpType === ND_NEIGHBOR_SOLICIT : i.icmpType === ND_NEIGHBOR_ADVERT)) {
    const o = i.ndLladdrOff;
    return { hi: (b[o] << 8) | b[o + 1], lo: ((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0 };
  }
  for (let q = optStart; q + 8 <= end; ) {
    const olen = b[q + 1] << 3;
    if (olen === 0) return null;
    if (b[q] === want) return { hi: (b[q + 2] << 8) | b[q + 3], lo: ((b[q + 4] << 24) | (b[q + 5] << 16) | (b[q + 6] << 8) | b[q + 7]) >>> 0 };
    q += olen;
  }
  return null;
}

/** ndisc_rcv(): the ICMPv6 checks, then NS / NA / RS; RA and redirects are reported as unmodelled. */
export function ndiscRcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  for (const p of i.problemList) {
    const n = dropReasonName(p);
    if (n.startsWith('IPV6_NDISC') || n === 'PKT_TOO_SMALL') {
      dp.drop(skb, p, { stage: 'ndisc_rcv', dev: dev.name });
      return;
    }
  }
  switch (i.icmpType) {
    case ND_NEIGHBOR_SOLICIT:
      return ndiscRecvNs(dp, skb, dev);
    case ND_NEIGHBOR_ADVERT:
      return ndiscRecvNa(dp, skb, dev);
    case ND_ROUTER_SOLICIT:
      return ndiscRecvRs(dp, skb, dev);
    default:
      if (!skb.generated)
        dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: dev.ns.name, dev: dev.name, detail: `ICMPv6 ${i.icmpType === 134 ? 'router advertisement (router discovery, SLAAC)' : 'redirect'} is not modelled` });
  }
}

function consumed(dp: Datapath, skb: Skb, dev: NetDevice, detail: string): void {
  if (!skb.generated) dp.final(dp.recOf(skb), { verdict: 'consumed', ns: dev.ns.name, dev: dev.name, detail });
  else dp.emittedFate(skb, `consumed by ${dev.ns.name} (${detail})`);
}

/** ndisc_recv_ns(). */
function ndiscRecvNs(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const b = skb.data, i = skb.info;
  const t = i.ndTargetOff;
  const target = formatIpv6(b, t);
  const fail = (reason: number, detail: string) => dp.drop(skb, reason, { stage: 'ndisc_recv_ns', dev: dev.name }, detail);
  if (t < 0) return fail(DR.PKT_TOO_SMALL, 'short neighbour solicitation');
  if (isMulticast6(b, t)) return fail(DR.NOT_SPECIFIED, 'multicast target');
  const dad = isUnspecified6(b, i.srcOff);
  if (dad && !isSolicitedNode6(b, i.dstOff)) return fail(DR.NOT_SPECIFIED, 'DAD probe not sent to the solicited-node group');
  const ll = lladdrOpt(skb, i.l4Off + 24, 1);
  if (ll && dad) return fail(DR.NOT_SPECIFIED, 'DAD probe with a source link-layer address option');
  const inc = isMulticast6(b, i.dstOff);
  const ifp = devAddr6(dev, b, t);
  if (ifp) {
    if (ifp.flags.includes('tentative') && !ifp.flags.includes('optimistic')) {
      // DAD in progress on our side: a DAD probe means a duplicate (addrconf_dad_failure); others are ignored.
      return fail(DR.NOT_SPECIFIED, dad ? `duplicate address ${target} (DAD is not modelled)` : `${target} is tentative`);
    }
  } else if (!devAnycast6(ns, dev, b, t)) {
    return fail(DR_NS_OTHERHOST, `${target} is not an address of ${dev.name}`);
  }
  const router = sysctl6(ns, dev.name, 'forwarding') !== 0;
  if (dad) {
    // RFC 4862 §5.4.3: answer to all-nodes; the kernel still frees the probe as a drop (goto out).
    ndiscSendNa(dp, skb, dev, ALL_NODES, b, t, router, false, ifp !== null, true);
    return fail(DR.NOT_SPECIFIED, `DAD probe for ${target} answered to ff02::1`);
  }
  // The sender's entry: created for a unicast NS or one with a link-layer address, then STALE.
  const id = ns.addr6Ids.id(b, i.srcOff);
  let n = ns.neigh6.lookup(dev, id);
  if (!n && (!inc || ll)) n = ns.neigh6.create(dev, id);
  if (!n) return fail(DR.NOT_SPECIFIED, 'multicast NS without a source link-layer address from an unknown neighbour');
  const old = n.state;
  neigh6Update(dp, n, ll ? ll.hi : -1, ll ? ll.lo : -1, NUD_STALE, NEIGH_UPDATE_F_WEAK_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE);
  if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: formatIpv6(b, i.srcOff), state: nudName(n.state), action: `NS from it: ${nudName(old)} → ${nudName(n.state)}`, ...(n.macHi >= 0 ? { lladdr: formatMac(n.macHi, n.macLo) } : {}) });
  const src = new Uint8Array(b.subarray(i.srcOff, i.srcOff + 16));
  ndiscSendNa(dp, skb, dev, src, b, t, router, true, ifp !== null && inc, inc);
  consumed(dp, skb, dev, `neighbour solicitation for ${target} answered`);
}

/** ndisc_recv_na(). */
function ndiscRecvNa(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const b = skb.data, i = skb.info;
  const t = i.ndTargetOff;
  const fail = (detail: string) => dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ndisc_recv_na', dev: dev.name }, detail);
  if (t < 0) return dp.drop(skb, DR.PKT_TOO_SMALL, { stage: 'ndisc_recv_na', dev: dev.name });
  const target = formatIpv6(b, t);
  const flags = b[i.l4Off + 4];
  const solicited = (flags & ND_NA_SOLICITED) !== 0;
  if (isMulticast6(b, t)) return fail('multicast target');
  if (isMulticast6(b, i.dstOff) && solicited) return fail('solicited NA sent to a multicast group');
  if (!solicited && sysctl6(ns, dev.name, 'drop_unsolicited_na') !== 0) return fail('drop_unsolicited_na');
  const ll = lladdrOpt(skb, i.l4Off + 24, 2);
  if (devAddr6(dev, b, t)) return fail(`NA for our own address ${target}`);
  const id = ns.addr6Ids.id(b, t);
  let n = ns.neigh6.lookup(dev, id);
  let state = solicited ? NUD_REACHABLE : NUD_STALE;
  if (!n && ll && sysctl6(ns, dev.name, 'forwarding') !== 0 && sysctl6(ns, dev.name, 'accept_untracked_na') !== 0) {
    // RFC 9131: a router may create a STALE entry from an unsolicited NA (accept_untracked_na).
    n = ns.neigh6.create(dev, id);
    state = NUD_STALE;
  }
  if (!n) return fail(`no neighbour entry for ${target}`);
  if (n.state & NUD_FAILED) return fail(`the entry for ${target} is FAILED`);
  const old = n.state;
  neigh6Update(dp, n, ll ? ll.hi : -1, ll ? ll.lo : -1, state, NEIGH_UPDATE_F_WEAK_OVERRIDE | (flags & ND_NA_OVERRIDE ? NEIGH_UPDATE_F_OVERRIDE : 0));
  if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: target, state: nudName(n.state), action: `NA${solicited ? ' (solicited)' : ''}: ${nudName(old)} → ${nudName(n.state)}`, ...(n.macHi >= 0 ? { lladdr: formatMac(n.macHi, n.macLo) } : {}) });
  consumed(dp, skb, dev, `neighbour advertisement for ${target}`);
}

/** ndisc_recv_rs(): a router records the soliciting host's link-layer address. */
function ndiscRecvRs(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const ns = dev.ns;
  const b = skb.data, i = skb.info;
  const fail = (detail: string) => dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'ndisc_recv_rs', dev: dev.name }, detail);
  if (sysctl6(ns, dev.name, 'forwarding') === 0) return fail(`${dev.name} is not a router (forwarding 0)`);
  if (isUnspecified6(b, i.srcOff)) return fail('router solicitation from ::');
  const ll = lladdrOpt(skb, i.l4Off + 8, 1);
  const id = ns.addr6Ids.id(b, i.srcOff);
  const n = ns.neigh6.lookup(dev, id) ?? ns.neigh6.create(dev, id);
  neigh6Update(dp, n, ll ? ll.hi : -1, ll ? ll.lo : -1, NUD_STALE, NEIGH_UPDATE_F_WEAK_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE);
  consumed(dp, skb, dev, 'router solicitation (no router advertisement is sent: radvd is not modelled)');
}

// ---------------------------------------------------------------------------------------------
// Send.

function ndBuild(dp: Datapath, cause: Skb | null, dev: NetDevice, src: Uint8Array, dst: Uint8Array, bodyLen: number): { g: Skb; frame: Uint8Array } {
  const total = kEthHlen + 40 + bodyLen;
  const frame = new Uint8Array(total);
  writeEthernet(frame, 0, 0, 0, dev.macHi, dev.macLo, ETH_P_IPV6);
  writeIpv6(frame, kEthHlen, 0, 0, bodyLen, 58, 255, src, 0, dst, 0);
  const g = new Skb();
  g.load(frame, total);
  g.ns = dev.ns;
  g.index = cause ? cause.index : -1;
  g.generated = true;
  void dp;
  return { g, frame: g.data };
}

function emitAndSend(dp: Datapath, cause: Skb | null, g: Skb, type: string, dev: NetDevice, src: Uint8Array, dst: Uint8Array, detail: string): void {
  decodeFrame(g.info, g.data, g.len, g.len, 1, { verifyChecksums: false });
  const rec = cause ? dp.recOf(cause) : null;
  const steps: Step[] = [];
  dp.emit(rec, g, { type, ns: dev.ns.name, dev: dev.name, src: formatIpv6(src), dst: formatIpv6(dst), detail, steps });
  dp.withSink(steps, () => ip6LocalOut(dp, g, dev, dev));
}

/**
 * ndisc_send_ns(): a solicitation for `target` to `daddr` (the solicited-node group, or the target
 * itself for a unicast probe), from `saddr` or, when null, the device's link-local address (none: no
 * solicitation, as ipv6_get_lladdr fails); with a source link-layer address option.
 */
export function ndiscSendNs(dp: Datapath, cause: Skb | null, dev: NetDevice, target: Uint8Array, daddr: Uint8Array, saddr: Uint8Array | null): void {
  const src = saddr ?? linkLocal6(dev);
  if (!src) {
    if (dp.tracing) dp.step({ kind: 'local', ns: dev.ns.name, what: `no NS for ${formatIpv6(target)}: ${dev.name} has no usable link-local address` });
    return;
  }
  const opt = !isUnspecified6(src, 0);
  const { g, frame } = ndBuild(dp, cause, dev, src, daddr, 24 + (opt ? 8 : 0));
  writeNdNs(frame, kEthHlen + 40, target, 0, opt ? dev.macHi : -1, dev.macLo, frame, kEthHlen + 8, kEthHlen + 24);
  emitAndSend(dp, cause, g, 'ndisc-ns', dev, src, daddr, `who has ${formatIpv6(target)}${isMulticast6(daddr, 0) ? '' : ' (unicast probe)'}`);
}

/**
 * ndisc_send_na(): an advertisement for the target at tb[tOff] to `daddr`: from the target when it is
 * ours on `dev`, else the source ipv6_dev_get_saddr picks; flags router / solicited / override; the
 * target link-layer address option when `incOpt` (answers to multicast solicitations).
 */
export function ndiscSendNa(dp: Datapath, cause: Skb | null, dev: NetDevice, daddr: Uint8Array, tb: Uint8Array, tOff: number, router: boolean, solicited: boolean, override: boolean, incOpt: boolean): void {
  const ns = dev.ns;
  const target = new Uint8Array(tb.subarray(tOff, tOff + 16));
  const ifp = devAddr6(dev, target, 0);
  let src: Uint8Array | null;
  if (ifp) {
    src = target;
    if (ifp.flags.includes('optimistic')) override = false;
  } else src = ipv6DevGetSaddr(ns, dev, daddr, 0);
  if (!src) return;
  const { g, frame } = ndBuild(dp, cause, dev, src, daddr, 24 + (incOpt ? 8 : 0));
  const flags = (router ? ND_NA_ROUTER : 0) | (solicited ? ND_NA_SOLICITED : 0) | (override ? ND_NA_OVERRIDE : 0);
  writeNdNa(frame, kEthHlen + 40, flags, target, 0, incOpt ? dev.macHi : -1, dev.macLo, frame, kEthHlen + 8, kEthHlen + 24);
  const f = `${router ? 'R' : ''}${solicited ? 'S' : ''}${override ? 'O' : ''}`;
  emitAndSend(dp, cause, g, 'ndisc-na', dev, src, daddr, `${formatIpv6(target)} is at ${formatMac(dev.macHi, dev.macLo)}${f ? ` [${f}]` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// The neighbour state machine for nd_tbl.

/** neigh_output() for the ND table (neighbour.ts). */
export function neigh6Output(dp: Datapath, skb: Skb, n: Neighbour<unknown>, quiet = false): void {
  neighOutput(dp, skb, n, ndiscNeighOps, quiet);
}

/**
 * ndisc_solicit() via neigh_probe(): unicast NS to the known address while probes < ucast_solicit,
 * else to the solicited-node group; from the queued packet's source when it is ours on the device.
 */
function ndiscSolicit(dp: Datapath, n: Neighbour<unknown>, cause: Skb | null): void {
  const dev = n.dev;
  const ns = dev.ns;
  const target = ns.addr6Ids.addr(n.addr);
  const c = cause ?? ((n.queue.length ? n.queue[n.queue.length - 1] : null) as Skb | null);
  let saddr: Uint8Array | null = null;
  if (c && c.info.srcOff >= 0) {
    const a = devAddr6(dev, c.data, c.info.srcOff);
    if (a && !a.flags.includes('tentative') && !a.flags.includes('optimistic')) saddr = a.addr;
  }
  const probes = n.probes - neigh6Param(ns, dev.name, 'ucast_solicit');
  const saved = dp.rec;
  dp.rec = c ? dp.recOf(c) : null;
  const savedSink = dp.sink;
  dp.sink = null;
  if (probes < 0) ndiscSendNs(dp, c, dev, target, target, saddr);
  else if (probes - neigh6Param(ns, dev.name, 'app_solicit') >= 0) ndiscSendNs(dp, c, dev, target, solicitedNode6(target, 0, mcScratch).slice(), saddr);
  dp.sink = savedSink;
  dp.rec = saved;
  n.probes++;
}

/** A queued packet dies: neigh_invalidate → ndisc_error_report (ICMPv6 address unreachable, kfree_skb). */
function neigh6QueueDrop(dp: Datapath, skb: Skb, reason: number, n: Neighbour<unknown>, detail: string): void {
  const saved = dp.rec;
  const rec = dp.recOf(skb);
  dp.rec = rec;
  if (reason === DR.NOT_SPECIFIED) icmp6Send(dp, skb, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, 0, 'neighbour failed');
  dp.drop(skb, reason, { stage: reason === DR.NOT_SPECIFIED ? 'neigh_invalidate' : '__neigh_event_send', dev: n.dev.name }, detail);
  dp.rec = saved;
  if (rec) dp.release(rec);
}

/**
 * __neigh_update(): new link-layer address (hi −1: none given) and state. A different address
 * replaces the old one only with OVERRIDE (WEAK_OVERRIDE turns a connected entry STALE instead); a
 * STALE report about the same address changes nothing; an entry that becomes valid sends its queue.
 */
export function neigh6Update(dp: Datapath, n: Neighbour<unknown>, hi: number, lo: number, state: number, flags: number): void {
  const ns = n.dev.ns;
  const old = n.state;
  if (!(flags & NEIGH_UPDATE_F_ADMIN) && (old & (NUD_NOARP | NUD_PERMANENT))) return;
  if (!(state & NUD_VALID)) {
    n.state = state;
    ns.neigh6.setTimer(n, Infinity);
    return;
  }
  let newHi = hi, newLo = lo;
  if (hi < 0) {
    if (!(old & NUD_VALID)) return; // nothing to resolve with
    newHi = n.macHi;
    newLo = n.macLo;
  }
  const differs = newHi !== n.macHi || newLo !== n.macLo;
  if (state & NUD_CONNECTED) n.confirmed = dp.now;
  if (old & NUD_VALID) {
    if (differs && !(flags & NEIGH_UPDATE_F_OVERRIDE)) {
      if ((flags & NEIGH_UPDATE_F_WEAK_OVERRIDE) && (old & NUD_CONNECTED)) {
        newHi = n.macHi;
        newLo = n.macLo;
        state = NUD_STALE;
      } else return;
    } else if (!differs && state === NUD_STALE && !(flags & NEIGH_UPDATE_F_ADMIN)) state = old;
  }
  if (state !== old || differs) n.updated = dp.now;
  n.macHi = newHi;
  n.macLo = newLo;
  if (state !== old) {
    n.state = state;
    if (state & NUD_REACHABLE) ns.neigh6.setTimer(n, dp.now + neigh6Param(ns, n.dev.name, 'base_reachable_time_ms') / 1000);
    else if (state & (NUD_DELAY | NUD_PROBE | NUD_INCOMPLETE)) ns.neigh6.setTimer(n, dp.now);
    else ns.neigh6.setTimer(n, Infinity);
    if (state & NUD_PROBE) n.probes = 0;
  }
  if (!(old & NUD_VALID) && (n.state & NUD_VALID) && n.queue.length) {
    const q = n.queue as Skb[];
    n.queue = [];
    for (const skb of q) {
      const saved = dp.rec;
      const savedSink = dp.sink;
      const rec = dp.recOf(skb);
      dp.rec = rec;
      dp.sink = skb.emitted?.steps ?? null; // a generated packet's steps go on its own entry
      if (dp.tracing && rec) dp.step({ kind: 'neigh', ns: ns.name, dev: n.dev.name, addr: addrText(ns, n), state: nudName(n.state), action: 'resolved: queued packet sent', lladdr: formatMac(n.macHi, n.macLo) });
      dp.depth = 0;
      neigh6Output(dp, skb, n, true);
      dp.sink = savedSink;
      dp.rec = saved;
      if (rec) dp.release(rec);
    }
  }
}

/** ND's part of the neighbour state machine (neighbour.ts): ndisc_solicit, ndisc_error_report. */
export const ndiscNeighOps: NeighOps = {
  table: (ns) => ns.neigh6 as NeighTable<unknown>,
  param: (ns, dev, key) => neigh6Param(ns, dev, key),
  solicit: (dp, n, cause) => ndiscSolicit(dp, n, cause),
  queueFull: (dp, n, skb, limit) => neigh6QueueDrop(dp, skb, DR.NEIGH_QUEUEFULL, n, `unres_qlen ${limit} reached`),
  addrText: (n) => addrText(n.dev.ns, n),
  probeName: 'NS',
  invalidate(dp, n, skb, sent) {
    const ns = n.dev.ns;
    const saved = dp.rec;
    dp.rec = dp.recOf(skb);
    if (dp.tracing && !skb.generated) dp.step({ kind: 'neigh', ns: ns.name, dev: n.dev.name, addr: addrText(ns, n), state: 'FAILED', action: `no answer to the neighbour solicitations` });
    dp.rec = saved;
    neigh6QueueDrop(dp, skb, DR.NOT_SPECIFIED, n, `no neighbour advertisement from ${addrText(ns, n)} (${sent} solicitations)`);
  },
};

/** neigh_timer_handler() for the ND table. */
export function neigh6TimerHandler(dp: Datapath, ns: Netns, now: number): void {
  neighTimerRun(dp, ns, ndiscNeighOps, now);
}

