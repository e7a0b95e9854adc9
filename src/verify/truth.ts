/**
 * The kernel's truth per input packet, derived from what the kernel run recorded:
 *
 *   1. entry     the packet's first inbound sighting on its device (tcpdump -i any in that namespace),
 *                paired with the send() that injected it;
 *   2. path      every later sighting of the same packet (IP id + protocol + a transport field NAT
 *                leaves alone) up to the next packet with the same key: devices, namespaces, edges;
 *   3. fate      per namespace where it was received locally and not sent on (or dropped inside a
 *                bridge): an nft trace `drop` verdict, the skb's first free (kfree_skb with a reason,
 *                or consume_skb), the answers the kernel sent (RST, ICMP errors, echo replies, SYN-ACK),
 *                what the listeners logged;
 *   4. final     ranked like the model's (delivered > consumed > transmitted > dropped).
 *
 * Where the kernel leaves no trace of a reason (no kfree_skb event available), the reason is inferred
 * from the answer sent (RST → NO_SOCKET, ICMP time exceeded → IP_INHDR, frag needed → PKT_TOO_BIG,
 * host unreachable after ARP failure → NEIGH_FAILED) or left unknown, and said so (`reasonFrom`).
 */
import type { World } from '../stack/netns.js';
import type { Schedule } from './inject.js';
import type { KernelRecord, Obs } from './kernel_run.js';
import { coarseKey, describe, dstText, hdrOf, isNd, parseEthernet, sameL4, srcText, type PktInfo } from './packet_info.js';
import { key6, parseIpv6Addr } from '../stack/route6.js';
import { traceKey, type NftTraceEvent } from './nft_trace.js';
import type { TraceEvent } from './droptrace.js';

/** Header summary (trace schema HdrTuple). */
export type Hdr = ReturnType<typeof hdrOf>;

/** A packet the kernel sent because of an input packet. */
export interface KEmitted {
  type: 'tcp-rst' | 'icmp-error' | 'icmp-echo-reply' | 'tcp-synack';
  ns: string;
  detail: string;
  /** ns after the packet arrived. */
  after: number;
}

/** The kernel's view of one input packet. */
export interface KernelFate {
  index: number;
  pkt: string;
  verdict: 'delivered' | 'transmitted' | 'dropped' | 'consumed' | 'unknown';
  ns: string;
  dev?: string;
  also?: string[];
  reason?: string;
  /** Where the reason comes from: the kfree_skb tracepoint, an nft trace, or inferred from the kernel's answer. */
  reasonFrom?: 'kfree_skb' | 'nft-trace' | 'inferred' | 'unknown';
  location?: string;
  where?: { family: string; table: string; chain: string; rule: string; handle: number | null };
  out?: Hdr;
  /** Socket port (delivered). */
  sockPort?: number;
  devices: string[];
  /** Every distinct header the packet had (before and after NAT). */
  forms: Hdr[];
  emitted: KEmitted[];
  evidence: string[];
}

// A frame is sighted within microseconds of its send(); 20 ms covers clock skew between the sender's
// CLOCK_MONOTONIC, mapped to realtime once, and tcpdump's realtime stamps.
const kEntrySlackNs = 20e6;
// Answers (RST, ICMP, echo reply) follow within microseconds; 2 s also covers a loaded CI machine.
const kAnswerNs = 2e9;

interface Entry { i: number; obs: Obs | null; key: string; info: PktInfo; end: number }

/** Derive every input packet's fate. */
export function deriveTruth(world: World, schedule: Schedule, rec: KernelRecord): KernelFate[] {
  const isPort = (ns: string, dev: string) => Boolean(world.byName.get(ns)?.byName.get(dev)?.master);
  // Addressed to the namespace itself: one of its addresses, a broadcast address, multicast.
  const isLocal = (ns: string, q: PktInfo): boolean => {
    const n = world.byName.get(ns);
    if (n && q.l3 === 'ipv6') {
      const a = parseIpv6Addr(q.dst6);
      return !a || a[0] === 0xff || n.local6.has(key6(a));
    }
    if (!n || q.l3 !== 'ipv4') return true;
    if (n.local4.has(q.dst) || q.dst === 0xffffffff || q.dst >>> 28 === 14) return true;
    for (const d of n.devs) for (const a of d.addrs4) if (a.broadcast === q.dst) return true;
    return false;
  };
  const isEdge = (ns: string, dev: string) => {
    const d = world.byName.get(ns)?.byName.get(dev);
    return Boolean(d && (d.edge || d.kind === 'dummy'));
  };

  // Observations by coarse key, in time order.
  const byKey = new Map<string, Obs[]>();
  for (const o of rec.obs) {
    const k = coarseKey(o.info);
    let l = byKey.get(k);
    if (!l) byKey.set(k, (l = []));
    l.push(o);
  }
  const used = new Set<Obs>();
  const entries: Entry[] = schedule.frames.map((f) => {
    const info = parseEthernet(f.frame);
    const key = coarseKey(info);
    const send = rec.sends[f.index];
    let obs: Obs | null = null;
    if (send && send.errno === 0) {
      for (const o of byKey.get(key) ?? []) {
        if (used.has(o) || o.out || o.ns !== f.dev.ns.name || o.dev !== f.dev.name || !sameL4(o.info, info)) continue;
        if (o.t < send.before - kEntrySlackNs) continue;
        obs = o;
        break;
      }
    }
    if (obs) used.add(obs);
    return { i: f.index, obs, key, info, end: Infinity };
  });
  // A packet's sightings end where the next packet with the same key enters.
  const entryTimes = new Map<string, number[]>();
  for (const e of entries) if (e.obs) (entryTimes.get(e.key) ?? entryTimes.set(e.key, []).get(e.key)!).push(e.obs.t);
  for (const l of entryTimes.values()) l.sort((a, b) => a - b);
  for (const e of entries) {
    if (!e.obs) continue;
    const l = entryTimes.get(e.key)!;
    for (const t of l) if (t > e.obs.t) {
      e.end = t;
      break;
    }
  }

  // Answers the kernel sent, indexed once: packets whose first sighting is outbound (made inside a
  // namespace), not frames that were injected and forwarded.
  const icmpErr = new Map<string, Obs[]>();
  const tcpAnswers: Obs[] = [];
  const echoReplies: Obs[] = [];
  const generated = (o: Obs): boolean => {
    if (!o.out) return false;
    for (const x of byKey.get(coarseKey(o.info)) ?? []) {
      if (x.t >= o.t) break;
      if (!x.out && o.t - x.t < kAnswerNs && sameL4(x.info, o.info)) return false;
    }
    return true;
  };
  for (const o of rec.obs) {
    const p = o.info;
    if ((p.l3 !== 'ipv4' && p.l3 !== 'ipv6') || !generated(o)) continue;
    const icmpProto = p.l3 === 'ipv6' ? 58 : 1;
    if (p.proto === icmpProto && p.inner) {
      const k = errKey(p.l3, p.inner.proto, p.inner.id);
      (icmpErr.get(k) ?? icmpErr.set(k, []).get(k)!).push(o);
    } else if (p.proto === 6 && (p.tcpFlags & 0x04 || (p.tcpFlags & 0x12) === 0x12)) tcpAnswers.push(o);
    else if (p.proto === icmpProto && p.icmpType === (p.l3 === 'ipv6' ? 129 : 0)) echoReplies.push(o);
  }

  const nftDrops = new Map<string, NftTraceEvent[]>();
  for (const ev of rec.nft) {
    if (ev.verdict !== 'drop' || !ev.pkt) continue;
    const k = `${ev.ns} ${traceKey(ev.pkt.proto, ev.pkt.id, ev.pkt.len)}`;
    (nftDrops.get(k) ?? nftDrops.set(k, []).get(k)!).push(ev);
  }
  const frees = rec.drops ? skbFates(schedule, rec) : null;
  const listenerUsed = new Set<number>();

  return entries.map((e) => {
    const f = schedule.frames[e.i];
    const fate: KernelFate = { index: e.i, pkt: describe(e.info), verdict: 'unknown', ns: f.dev.ns.name, devices: [], forms: [hdrOf(parseEthernet(f.frame))], emitted: [], evidence: [] };
    const send = rec.sends[e.i];
    const free = frees?.[e.i] ?? null;
    if (!send) {
      fate.evidence.push('the sender did not report this frame');
      return fate;
    }
    if (send.errno !== 0) {
      fate.verdict = 'dropped';
      fate.reason = 'NOT_SPECIFIED';
      fate.reasonFrom = 'unknown';
      fate.evidence.push(`send() on the injection socket failed with errno ${send.errno}`);
      return fate;
    }
    if (!e.obs) {
      // Never seen arriving: dropped before the capture tap (veth rx: too big for the device's MTU...).
      fate.verdict = 'dropped';
      fate.ns = f.dev.ns.name;
      applyFree(fate, free);
      fate.evidence.push(`never seen arriving on ${f.dev.ns.name}:${f.dev.name}`);
      return fate;
    }
    const entry = e.obs;
    // Sightings follow the packet: it leaves a namespace only after it arrived there. A sending from a
    // namespace it never reached is a new packet with the same key (c1 asking for the same gateway
    // again): the window ends there.
    const win: Obs[] = [];
    const reached = new Set<string>();
    for (const o of byKey.get(e.key) ?? []) {
      if (o.t < entry.t || o.t >= e.end || !sameL4(o.info, e.info)) continue;
      if (o.out && !reached.has(o.ns)) break;
      if (!o.out) reached.add(o.ns);
      win.push(o);
    }
    fate.devices = [...new Set(win.map((o) => `${o.ns}:${o.dev}`))].sort();
    for (const o of win) {
      const h = hdrOf(o.info);
      if (!fate.forms.some((x) => JSON.stringify(x) === JSON.stringify(h))) fate.forms.push(h);
    }

    // Answers.
    const p = e.info;
    if (p.l3 === 'ipv4' || (p.l3 === 'ipv6' && !isNd(p))) {
      const seenTypes = new Set<string>();
      for (const o of icmpErr.get(errKey(p.l3, p.proto, p.id)) ?? []) {
        if (o.t < entry.t || o.t >= e.end) continue;
        const d = `${p.l3 === 'ipv6' ? 'icmp6 ' : ''}type ${o.info.icmpType} code ${o.info.icmpCode}`;
        if (seenTypes.has(d)) continue;
        seenTypes.add(d);
        fate.emitted.push({ type: 'icmp-error', ns: o.ns, detail: d, after: o.t - entry.t });
      }
      if (p.proto === 6) {
        const forms = win.map((o) => o.info);
        const ackFor = (p.tcpSeq + p.tcpPayload + (p.tcpFlags & 0x02 ? 1 : 0) + (p.tcpFlags & 0x01 ? 1 : 0)) >>> 0;
        for (const o of tcpAnswers) {
          if (o.t < entry.t || o.t > entry.t + kAnswerNs) continue;
          const a = o.info;
          if (!forms.some((x) => x.sport === a.dport && x.dport === a.sport)) continue;
          const rst = (a.tcpFlags & 0x04) !== 0;
          const matches = (a.tcpFlags & 0x10 ? a.tcpAck === ackFor : false) || (rst && !(a.tcpFlags & 0x10) && a.tcpSeq === p.tcpAck);
          if (!matches) continue;
          const type = rst ? 'tcp-rst' : 'tcp-synack';
          if (fate.emitted.some((x) => x.type === type)) continue;
          fate.emitted.push({ type, ns: o.ns, detail: `${srcText(a)}:${a.sport} > ${dstText(a)}:${a.dport}`, after: o.t - entry.t });
        }
      }
      if ((p.l3 === 'ipv4' && p.proto === 1 && p.icmpType === 8) || (p.l3 === 'ipv6' && p.proto === 58 && p.icmpType === 128)) {
        for (const o of echoReplies) {
          if (o.info.l3 !== p.l3 || o.t < entry.t || o.t > entry.t + kAnswerNs || o.info.icmpSeq !== p.icmpSeq || o.info.totLen !== p.totLen) continue;
          if (!win.some((x) => x.info.icmpId === o.info.icmpId && srcText(x.info) === dstText(o.info) && dstText(x.info) === srcText(o.info))) continue;
          fate.emitted.push({ type: 'icmp-echo-reply', ns: o.ns, detail: `${srcText(o.info)} > ${dstText(o.info)}`, after: o.t - entry.t });
          break;
        }
      }
    }

    // Per namespace: received locally and not sent on, or dropped inside a bridge.
    type Cand = Pick<KernelFate, 'verdict' | 'ns' | 'dev' | 'reason' | 'reasonFrom' | 'location' | 'where' | 'out' | 'sockPort'> & { ev: string[] };
    const cands: Cand[] = [];
    const nss = [...new Set(win.map((o) => o.ns))];
    for (const ns of nss) {
      const mine = win.filter((o) => o.ns === ns);
      const localRx = mine.find((o) => !o.out && !isPort(ns, o.dev));
      const anyOut = mine.some((o) => o.out);
      const routedOut = localRx ? mine.some((o) => o.out && !isPort(ns, o.dev) && o.t >= localRx.t) : false;
      for (const o of mine) {
        if (o.out && isEdge(ns, o.dev) && !cands.some((c) => c.verdict === 'transmitted' && c.ns === ns && c.dev === o.dev)) {
          cands.push({ verdict: 'transmitted', ns, dev: o.dev, out: hdrOf(o.info), ev: [`left by ${ns}:${o.dev} as ${describe(o.info)}`] });
        }
      }
      if (localRx && !routedOut) cands.push(localFate(ns, localRx));
      else if (!localRx && !anyOut) cands.push(bridgeDrop(ns));
    }

    function nftDrop(ns: string, q: PktInfo): NftTraceEvent | null {
      if (q.l3 !== 'ipv4') return null;
      const l = nftDrops.get(`${ns} ${traceKey(q.proto, q.id, q.totLen)}`);
      if (!l || !l.length) return null;
      return l.shift()!;
    }

    function dropCand(ns: string, q: PktInfo, ev: string[]): Cand | null {
      const d = nftDrop(ns, q);
      if (d) {
        return {
          verdict: 'dropped', ns, reason: 'NETFILTER_DROP', reasonFrom: 'nft-trace',
          where: { family: d.family, table: d.table, chain: d.chain, rule: d.kind === 'policy' ? 'policy' : d.rule, handle: d.handle },
          ev: [...ev, `nft trace: ${d.family} ${d.table} ${d.chain} ${d.kind === 'policy' ? 'policy drop' : `rule "${d.rule}" (verdict drop)`}`],
        };
      }
      if (free && free.event === 'kfree_skb') {
        return { verdict: 'dropped', ns, reason: free.reason, reasonFrom: 'kfree_skb', location: free.location, ev: [...ev, `kfree_skb ${free.reason} at ${free.location}`] };
      }
      return null;
    }

    function bridgeDrop(ns: string): Cand {
      const ev = [`entered ${ns} on a bridge port and went nowhere`];
      return dropCand(ns, p, ev) ?? { verdict: 'dropped', ns, reason: undefined, reasonFrom: 'unknown', ev };
    }

    function localFate(ns: string, at: Obs): Cand {
      const q = at.info;
      const ev = [`received by ${ns} on ${at.dev} as ${describe(q)}`];
      if (q.l3 === 'arp') return { verdict: 'consumed', ns, ev };
      // Neighbour discovery is IPv6's ARP: taken by ndisc_rcv, unless the kernel freed it with a reason.
      if (isNd(q)) return dropCand(ns, q, ev) ?? { verdict: 'consumed', ns, ev: [...ev, 'taken by ndisc_rcv'] };
      const d = dropCand(ns, q, ev);
      if (d) return d;
      const answer = (t: KEmitted['type']) => fate.emitted.find((x) => x.type === t && x.ns === ns);
      const icmp = (type: number, code: number) => fate.emitted.find((x) => x.type === 'icmp-error' && x.ns === ns && x.detail === `type ${type} code ${code}`);
      const icmp6 = (type: number, code: number) => fate.emitted.find((x) => x.type === 'icmp-error' && x.ns === ns && x.detail === `icmp6 type ${type} code ${code}`);
      const addrUnreach6 = icmp6(1, 3);
      // No drop recorded: infer from what the kernel answered. A host unreachable sent a second or more
      // after the packet is a failed neighbour resolution (3 probes, 1 s apart); sooner, ip_error().
      const hostUnreach = icmp(3, 1);
      const inferred: Array<[boolean, string, string]> = [
        [Boolean(icmp(11, 0)), 'IP_INHDR', 'ICMP time exceeded sent'],
        [Boolean(icmp(3, 4)), 'PKT_TOO_BIG', 'ICMP fragmentation needed sent'],
        [Boolean(icmp(3, 0)), 'IP_INNOROUTES', 'ICMP net unreachable sent'],
        [Boolean(hostUnreach && hostUnreach.after >= 0.9e9), 'NEIGH_FAILED', 'ICMP host unreachable sent after ARP went unanswered'],
        [Boolean((hostUnreach && hostUnreach.after < 0.9e9) || icmp(3, 13)), 'NOT_SPECIFIED', 'ICMP unreachable sent (ip_error)'],
        // IPv6: ip6_forward's hop limit and MTU checks; a failed resolution frees the queue in
        // neigh_invalidate (NOT_SPECIFIED) after sending address unreachable.
        [Boolean(icmp6(3, 0)), 'IP_INHDR', 'ICMPv6 hop limit exceeded sent'],
        [Boolean(icmp6(2, 0)), 'PKT_TOO_BIG', 'ICMPv6 packet too big sent'],
        [Boolean(icmp6(1, 0)), 'IP_INNOROUTES', 'ICMPv6 no route sent'],
        [Boolean(addrUnreach6 && addrUnreach6.after >= 0.9e9), 'NOT_SPECIFIED', 'ICMPv6 address unreachable sent after neighbour discovery went unanswered'],
      ];
      if (!isLocal(ns, q)) {
        // Meant to be forwarded, and never sent: a drop.
        for (const [hit, reason, why] of inferred) if (hit) return { verdict: 'dropped', ns, reason, reasonFrom: 'inferred', ev: [...ev, why] };
        return { verdict: 'dropped', ns, reasonFrom: 'unknown', ev: [...ev, 'not for this namespace, and never sent on'] };
      }
      if (q.proto === 6) {
        if (answer('tcp-rst')) return { verdict: 'dropped', ns, reason: 'NO_SOCKET', reasonFrom: 'inferred', ev: [...ev, 'answered with a RST'] };
        const synack = fate.emitted.find((x) => x.type === 'tcp-synack' && x.ns === ns);
        if (synack) return { verdict: 'delivered', ns, sockPort: Number(/:(\d+) >/.exec(synack.detail)?.[1] ?? -1), ev: [...ev, `answered with a SYN-ACK (${synack.detail})`] };
      }
      if (q.proto === 17) {
        const src = srcText(q);
        const l = rec.listeners.findIndex((x, k) => !listenerUsed.has(k) && x.ns === ns && x.proto === 'udp' && x.len === q.udpLen - 8 && x.src === src &&
          x.sport === q.sport && x.t >= at.t - kEntrySlackNs && x.t <= at.t + kAnswerNs);
        if (l >= 0) {
          listenerUsed.add(l);
          const x = rec.listeners[l];
          return { verdict: 'delivered', ns, sockPort: x.dport, out: { src: x.src, dst: x.dst, sport: x.sport, dport: x.dport }, ev: [...ev, `listener ${x.sock} received ${x.len} bytes from ${x.src}:${x.sport}`] };
        }
        if (icmp(3, 3)) return { verdict: 'dropped', ns, reason: 'NO_SOCKET', reasonFrom: 'inferred', ev: [...ev, 'answered with ICMP port unreachable'] };
      }
      if ((q.l3 === 'ipv4' && q.proto === 1 && (q.icmpType === 8 || q.icmpType === 0 || q.icmpType === 3 || q.icmpType === 11)) ||
        (q.l3 === 'ipv6' && q.proto === 58 && ((q.icmpType >= 1 && q.icmpType <= 4) || q.icmpType === 128 || q.icmpType === 129))) {
        const er = q.icmpType === 8 || q.icmpType === 128 ? answer('icmp-echo-reply') : undefined;
        return { verdict: 'consumed', ns, ev: [...ev, er ? 'answered with an echo reply' : 'taken by icmp_rcv'] };
      }
      for (const [hit, reason, why] of inferred) if (hit) return { verdict: 'dropped', ns, reason, reasonFrom: 'inferred', ev: [...ev, why] };
      if (free && free.event === 'consume_skb') {
        if (q.proto === 6 || q.proto === 17) return { verdict: 'delivered', ns, ev: [...ev, `consumed by the stack (${free.location})`] };
        return { verdict: 'consumed', ns, ev: [...ev, `consumed by the stack (${free.location})`] };
      }
      if (q.proto === 6 && !frees) return { verdict: 'delivered', ns, ev: [...ev, 'no RST and no drop seen'] };
      return { verdict: 'dropped', ns, reasonFrom: 'unknown', ev: [...ev, 'vanished without an answer'] };
    }

    const rank = (v: KernelFate['verdict']) => (v === 'delivered' ? 0 : v === 'consumed' ? 1 : v === 'transmitted' ? 2 : 4);
    if (!cands.length) {
      fate.evidence.push('no namespace kept it and it left by no edge');
      return fate;
    }
    let best = cands[0];
    for (const c of cands) if (rank(c.verdict) < rank(best.verdict)) best = c;
    const { ev, ...rest } = best;
    Object.assign(fate, rest);
    if (best.verdict === 'transmitted') {
      const also = cands.filter((c) => c !== best && c.verdict === 'transmitted').map((c) => `${c.ns}:${c.dev}`);
      if (also.length) fate.also = also;
    }
    for (const c of cands) fate.evidence.push(...c.ev);
    return fate;
  });
}

/** Key of the ICMP errors quoting a packet: family, protocol, IPv4 id or IPv6 flow label. */
function errKey(l3: PktInfo['l3'], proto: number, id: number): string {
  return `${l3 === 'ipv6' ? '6/' : ''}${proto}/${id}`;
}

function applyFree(fate: KernelFate, free: TraceEvent | null): void {
  if (free && free.event === 'kfree_skb') {
    fate.reason = free.reason;
    fate.reasonFrom = 'kfree_skb';
    fate.location = free.location;
  } else fate.reasonFrom = 'unknown';
}

/**
 * For every injected frame: the first free (kfree_skb or consume_skb) of its skb after the sender's
 * transmit. The transmit is the first `net_dev_start_xmit` on the sending device inside the send()
 * call's time window.
 */
function skbFates(schedule: Schedule, rec: KernelRecord): Array<TraceEvent | null> {
  const evs = rec.drops!;
  const xmits = evs.filter((e) => e.event === 'net_dev_start_xmit');
  const freesBySkb = new Map<string, TraceEvent[]>();
  for (const e of evs) if (e.event !== 'net_dev_start_xmit') (freesBySkb.get(e.skb) ?? freesBySkb.set(e.skb, []).get(e.skb)!).push(e);
  const devOf = schedule.socks.map((s) => s.dev);
  let k = 0;
  return schedule.frames.map((f) => {
    const s = rec.sends[f.index];
    if (!s) return null;
    // Tracepoint times are CLOCK_MONOTONIC µs; sends are mapped to realtime: map back.
    const lo = s.before - rec.monoToRel - 1000, hi = s.after - rec.monoToRel + 1000;
    while (k < xmits.length && xmits[k].t < lo) k++;
    let x: TraceEvent | null = null;
    for (let j = k; j < xmits.length && xmits[j].t <= hi; j++) {
      if (xmits[j].dev === devOf[f.sock] && xmits[j].len === f.frame.length) {
        x = xmits[j];
        break;
      }
    }
    if (!x) return null;
    for (const e of freesBySkb.get(x.skb) ?? []) if (e.t >= x.t) return e;
    return null;
  });
}
