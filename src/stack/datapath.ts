/**
 * The datapath: what Linux does with each packet, over a World, one packet at a time, with no I/O.
 * inject() takes a frame received on a device; the stages (dev.ts, br_input.ts, ip_input.ts,
 * ip_forward.ts, ip_output.ts, arp.ts, icmp.ts, nf_hook.ts) mirror the kernel files of the same name.
 * Time is the capture's: timers (neighbour probes, conntrack expiry) run as the clock passes them.
 *
 *   frame ─► netifReceiveSkb ─► brHandleFrame ─┐
 *                   │                           ▼ (to the bridge / not bridged)
 *                   ├─► arpRcv                 ipRcv ─► PREROUTING ─► route ─┬─► ipLocalDeliver ─► INPUT ─► socket
 *                   ├─► ipv6Rcv (ip6_input.ts: the same stages for IPv6, ip6_forward.ts, ip6_output.ts, ndisc.ts)
 *                   ▼                                                        └─► ipForward ─► FORWARD ─► ipOutput
 *                 (other: UNHANDLED_PROTO)        ipLocalOut ─► OUTPUT ─► ipOutput ─► POSTROUTING ─► neigh ─► devQueueXmit
 */
import type { World, Netns } from './netns.js';
import type { NetDevice } from './netdev.js';
import { Skb } from './skb.js';
import { PacketRecord, type Emitted, type Final, type HdrTuple, type Step, type Where } from './record.js';
import { decodeFrame, ipv6ToString, L3_IPV4, L3_IPV6, type PacketInfo } from './wire/decode.js';
import { compileRuleset, EvalState, ChainResult, type CompiledRuleset } from './netfilter/compile.js';
import { ConntrackTable, ctOptionsFromSysctl, IP_CT_IS_REPLY } from './conntrack/index.js';
import { dropReasonName, type DropReason } from './drop_reason.js';
import { formatIpv4 } from './inet.js';
import { netifReceiveSkb } from './dev.js';
import { neighTimerHandler } from './ip_output.js';
import { neigh6TimerHandler } from './ndisc.js';
import { Flowi4, FibResult } from './route.js';
import { Flowi6, Fib6Result } from './route6.js';

/** Options of a replay. */
export interface DatapathOptions {
  /** Verify checksums (off for captures taken with checksum offload). */
  verifyChecksums: boolean;
  /** Record steps (off for the fastest replay without a trace). */
  trace: boolean;
  allowUnsupported: boolean;
  /** Seed for the deterministic choices (NAT port offsets). */
  seed: number;
}

/** Runtime state of one namespace that the world does not hold. */
export class NsRuntime {
  rules: CompiledRuleset;
  ct: ConntrackTable | null;
  /**
   * inet_peer per host (icmp.ts icmpPeer): the ICMP error limit's tokens (seconds) and last time,
   * which redirects share, and the redirect count.
   */
  icmpPeers = new Map<number, { tokens: number; last: number; redirects: number }>();
  /** ip_error()'s own limit per host: tokens (seconds) and last time (ip_input.ts ipErrorRateOk). */
  ipErrorPeers = new Map<number, { tokens: number; last: number }>();
  /** icmpv6_xrlim_allow state per destination (route6 key6 text): tokens (seconds) and last time. */
  icmp6Peers = new Map<string, { tokens: number; last: number }>();
  /** IP id counter for generated packets. */
  ipId = 1;
  constructor(rules: CompiledRuleset, ct: ConntrackTable | null) {
    this.rules = rules;
    this.ct = ct;
  }
}

/** The model of every namespace's stack. */
export class Datapath {
  readonly world: World;
  readonly opts: DatapathOptions;
  readonly rt: NsRuntime[] = [];
  /** Capture clock, seconds. */
  now = 0;
  /** Record of the packet being processed (generated packets report into their cause's record). */
  rec: PacketRecord | null = null;
  /** Records not yet handed out (waiting for queued copies), in index order. */
  private open: PacketRecord[] = [];
  private done: (r: PacketRecord) => void;
  readonly st = new EvalState();
  readonly cres = new ChainResult();
  readonly fl = new Flowi4();
  readonly fres = new FibResult();
  /** Separate scratch for the reverse-path lookup, which runs while `fres` is still in use. */
  readonly flRpf = new Flowi4();
  readonly fresRpf = new FibResult();
  /** IPv6 route lookup scratch (ip6_route_input / ip6_route_output). */
  readonly fl6 = new Flowi6();
  readonly fres6 = new Fib6Result();
  /** Device counters: the world's devices carry them. */
  warnings: string[] = [];
  /** Nesting depth of packet handling (veth hops, generated packets): a loop guard. */
  depth = 0;

  constructor(world: World, opts: DatapathOptions, done: (r: PacketRecord) => void) {
    this.world = world;
    this.opts = opts;
    this.tracing = opts.trace;
    this.done = done;
    for (const ns of world.namespaces) {
      const warnings: string[] = [];
      const rules = compileRuleset(ns.ruleset, { allowUnsupported: opts.allowUnsupported, warnings });
      world.warnings.push(...warnings);
      const s = ns.sysctl;
      const ct = rules.needsConntrack ? new ConntrackTable({ ...ctOptionsFromSysctl((k) => s.get(k)), seed: opts.seed + ns.id }) : null;
      this.rt.push(new NsRuntime(rules, ct));
    }
    this.st.onRule = null;
  }

  /** Runtime of a namespace. */
  nsrt(ns: Netns): NsRuntime {
    return this.rt[ns.id];
  }

  // -------------------------------------------------------------------------------------------
  // Input.

  private skb = new Skb();

  /**
   * A frame received on `dev` at time (sec, nsec). `frame` must be an Ethernet frame; `index` numbers
   * the merged input.
   */
  inject(frame: Uint8Array, len: number, origLen: number, sec: number, nsec: number, dev: NetDevice, index: number): void {
    const t = sec + nsec / 1e9;
    this.advance(t);
    const rec = new PacketRecord(index, sec, nsec, dev.ns.name, dev.name);
    this.rec = rec;
    this.open.push(rec);
    const skb = this.skb;
    skb.load(frame, len);
    skb.ns = dev.ns;
    skb.dev = dev;
    skb.index = index;
    decodeFrame(skb.info, skb.data, len, origLen, 1, { verifyChecksums: this.opts.verifyChecksums });
    if (this.filter !== null) rec.reported = this.filter(skb.info);
    rec.len = origLen;
    describeKey(skb, rec);
    for (let i = 0; i < skb.info.problemList.length; i++) rec.addProblem(dropReasonName(skb.info.problemList[i]));
    this.depth = 0;
    const w = this.work;
    w.hooks = w.rules = w.ctLookups = w.ctInserts = w.nats = 0;
    this.st.rulesVisited = 0;
    netifReceiveSkb(this, skb, dev);
    w.rules = this.st.rulesVisited;
    this.release(rec);
  }

  /** Run every timer due up to time t (neighbour state machine, conntrack expiry). */
  advance(t: number): void {
    if (t < this.now) t = this.now; // captures merged out of order by a few ns: never go back
    for (;;) {
      let next = Infinity;
      let nsNext: Netns | null = null;
      let v6 = false;
      for (const ns of this.world.namespaces) {
        const n = ns.neigh.nextTimer();
        if (n < next) {
          next = n;
          nsNext = ns;
          v6 = false;
        }
        const n6 = ns.neigh6.nextTimer();
        if (n6 < next) {
          next = n6;
          nsNext = ns;
          v6 = true;
        }
      }
      if (next > t || !nsNext) break;
      this.now = next;
      if (v6) neigh6TimerHandler(this, nsNext, next);
      else neighTimerHandler(this, nsNext, next);
    }
    this.now = t;
    for (const r of this.rt) if (r.ct) r.ct.expire(t);
  }

  /** End of input: let pending neighbour resolutions finish (as the kernel would after the capture). */
  finish(): void {
    let guard = 0;
    for (;;) {
      let pending = false;
      for (const ns of this.world.namespaces) {
        for (const n of ns.neigh.timed) if (n.queue.length) pending = true;
        for (const n of ns.neigh6.timed) if (n.queue.length) pending = true;
      }
      if (!pending || guard++ > 10000) break;
      let next = Infinity;
      for (const ns of this.world.namespaces) next = Math.min(next, ns.neigh.nextTimer(), ns.neigh6.nextTimer());
      if (next === Infinity) break;
      this.advance(next);
    }
    // Anything still queued has nowhere to go (no timer): report it as the kernel's eventual failure.
    for (const r of this.open) r.live = 0;
    this.flush();
  }

  /** One copy of rec's packet reached its end. */
  release(rec: PacketRecord): void {
    rec.live--;
    if (rec.live <= 0) this.flush();
  }

  private flush(): void {
    while (this.open.length && this.open[0].live <= 0) this.done(this.open.shift()!);
  }

  // -------------------------------------------------------------------------------------------
  // Reporting helpers used by the stages.

  /**
   * NAT choices seen in a direction-aware capture: given the packet about to be bound, the post-NAT
   * header the capture shows for it (null = none). Set by the replay driver.
   */
  natHint: ((skb: Skb) => { src4: number; dst4: number; sport: number; dport: number } | null) | null = null;

  /** What the current input packet made the stack do (the queue model's cost inputs, cost.ts). */
  readonly work = { hooks: 0, rules: 0, ctLookups: 0, ctInserts: 0, nats: 0 };

  /** Which input packets are reported (`--filter`), judged on the packet as it entered; null = all. */
  filter: ((info: PacketInfo) => boolean) | null = null;

  /**
   * The packet is handed to another device's receive path through the backlog (veth_xmit or
   * loopback_xmit → __netif_rx): a new softirq stage for the queue model, which reads `work` (and
   * st.rulesVisited) to cut the cost at this point.
   */
  onBacklogHop: (() => void) | null = null;

  /** A frame leaves the world on an edge device (dev_queue_xmit there): the queue model's egress side. */
  onXmit: ((dev: NetDevice, skb: Skb) => void) | null = null;

  /** Device tap (`--pcap-out`): frames as they cross each device; null when off. */
  tap: ((dev: NetDevice, dir: 1 | 2, t: number, frame: Uint8Array, len: number) => void) | null = null;

  /** Steps are recorded (a trace or report is being written). Stages test it before building a step. */
  readonly tracing: boolean;

  /** Where steps of a generated packet go (its `emitted` entry), null for the input packet. */
  sink: Step[] | null = null;

  /** Add a step to the current packet's record (only when tracing). */
  step(s: Step): void {
    if (!this.opts.trace) return;
    if (this.sink) this.sink.push(s);
    else if (this.rec) this.rec.addStep(s);
  }

  /** Process a generated packet with its steps recorded on its own emitted entry. */
  withSink(steps: Step[], fn: () => void): void {
    const saved = this.sink;
    this.sink = steps;
    try {
      fn();
    } finally {
      this.sink = saved;
    }
  }

  /** The packet (copy) ends here. */
  final(rec: PacketRecord | null, f: Final): void {
    if (rec) rec.addFinal(f);
  }

  /** A drop: final verdict with the kernel's reason and the place. */
  drop(skb: Skb, reason: DropReason, where: Where, detail?: string): void {
    const ns = skb.ns?.name ?? '';
    const name = dropReasonName(reason);
    if (skb.generated) {
      this.dropWith(skb, null, null, name, detail);
      return;
    }
    this.dropWith(skb, this.tracing ? dropStep(ns, name, where, detail) : null, { verdict: 'dropped', ns, reason: name, where, ...(detail ? { detail } : {}) }, name, detail);
  }

  /**
   * A drop whose step and final were made beforehand (dropStep; interned by places that drop many
   * packets the same way, like a rule): the same effects as drop() without building them per packet.
   */
  dropWith(skb: Skb, step: Step | null, final: Final | null, reasonName: string, detail?: string): void {
    // An unconfirmed conntrack entry dies with the packet that made it (nf_conntrack_put on
    // kfree_skb); an ICMP error attached to it (reply direction) only drops its reference.
    if (skb.ct && !skb.ct.confirmed && skb.ns && skb.ctinfo < IP_CT_IS_REPLY) {
      this.nsrt(skb.ns).ct?.discard(skb.ct);
      skb.ct = null;
    }
    if (skb.generated) {
      this.emittedFate(skb, `dropped ${reasonName}${detail ? ' (' + detail + ')' : ''}`);
      return;
    }
    if (this.tracing && step !== null) this.step(step);
    this.final(this.recOf(skb), final!);
  }

  /** Record of the skb's input packet (the current record, or a queued packet's own). */
  recOf(skb: Skb): PacketRecord | null {
    if (this.rec && this.rec.index === skb.index) return this.rec;
    for (const r of this.open) if (r.index === skb.index) return r;
    return null;
  }

  /** A packet the stack generated because of rec's packet: listed on rec, and `g` knows its entry. */
  emit(rec: PacketRecord | null, g: Skb, e: Emitted): void {
    if (!rec) return;
    rec.addEmitted(e);
    g.emitted = e;
  }

  /**
   * Note what became of a generated packet, on its own emitted entry (it may have waited in a
   * neighbour queue while its cause generated others), while its cause's record is still open.
   */
  emittedFate(skb: Skb, fate: string): void {
    const e = skb.emitted;
    if (e !== null && !e.fate && this.recOf(skb) !== null) e.fate = fate;
  }

  /** Header tuple of an skb now. */
  hdr(skb: Skb): HdrTuple | null {
    return hdrOf(skb);
  }
}

/** The trace step of a drop at `where`. */
export function dropStep(ns: string, reasonName: string, where: Where, detail?: string): Step {
  return { kind: 'drop', ns, stage: 'stage' in where ? where.stage : `${where.family} ${where.table} ${where.chain}`, reason: reasonName, ...(detail ? { detail } : {}) };
}

/**
 * IPv4 header tuples, direct-mapped by their numbers: a flow's packets share one frozen object (no
 * address text per packet). Not interned: most flows are short, and interning costs more than one
 * encoding.
 */
const kHdrSlots = 4096;
const hdrSrc = new Uint32Array(kHdrSlots);
const hdrDst = new Uint32Array(kHdrSlots);
const hdrL4 = new Float64Array(kHdrSlots).fill(-1);
const hdrObj: Array<HdrTuple | null> = new Array<HdrTuple | null>(kHdrSlots).fill(null);

/** The packet's header tuple as text (for records; not on the no-trace hot path except tx/final). */
export function hdrOf(skb: Skb): HdrTuple | null {
  const i = skb.info;
  let t: HdrTuple;
  if (i.l3 === L3_IPV4) {
    // Ports, else ICMP id, else nothing: one number that tells them apart.
    const l4 = i.sport >= 0 ? i.sport * 65536 + i.dport : i.icmpId >= 0 ? 2 ** 32 + i.icmpId : 2 ** 33;
    const slot = (Math.imul(i.src4 ^ Math.imul(i.dst4, 0x9e3779b1) ^ (l4 | 0), 0x85ebca6b) >>> 20) & (kHdrSlots - 1);
    const hit = hdrObj[slot];
    if (hit !== null && hdrSrc[slot] === i.src4 && hdrDst[slot] === i.dst4 && hdrL4[slot] === l4) return hit;
    t = { src: formatIpv4(i.src4), dst: formatIpv4(i.dst4) };
    if (i.sport >= 0) {
      t.sport = i.sport;
      t.dport = i.dport;
    } else if (i.icmpId >= 0) t.icmp_id = i.icmpId;
    hdrSrc[slot] = i.src4;
    hdrDst[slot] = i.dst4;
    hdrL4[slot] = l4;
    hdrObj[slot] = Object.freeze(t);
    return t;
  }
  if (i.l3 === L3_IPV6 && i.srcOff >= 0) t = { src: ipv6ToString(skb.data, i.srcOff), dst: ipv6ToString(skb.data, i.dstOff) };
  else return null;
  if (i.sport >= 0) {
    t.sport = i.sport;
    t.dport = i.dport;
  } else if (i.icmpId >= 0) t.icmp_id = i.icmpId;
  return t;
}

function describeKey(skb: Skb, rec: PacketRecord): void {
  const i = skb.info;
  rec.l3 = i.l3;
  rec.l4 = i.l4proto;
  if (i.l3 === L3_IPV4) {
    rec.src4 = i.src4;
    rec.dst4 = i.dst4;
    rec.sport = i.sport;
    rec.dport = i.dport;
    rec.icmpId = i.sport < 0 ? i.icmpId : -1;
  } else if (i.l3 === L3_IPV6 && i.srcOff >= 0) {
    // IPv6 addresses as text at once: 16-byte values have no cheap numeric form, and IPv6 is the rarer case.
    rec.src6 = ipv6ToString(skb.data, i.srcOff);
    rec.dst6 = ipv6ToString(skb.data, i.dstOff);
    rec.sport = i.sport;
    rec.dport = i.dport;
    rec.icmpId = i.sport < 0 ? i.icmpId : -1;
  } else if (i.l3 === 3 && i.arpSpaOff >= 0) {
    const b = skb.data;
    rec.src4 = ((b[i.arpSpaOff] << 24) | (b[i.arpSpaOff + 1] << 16) | (b[i.arpSpaOff + 2] << 8) | b[i.arpSpaOff + 3]) >>> 0;
    rec.dst4 = ((b[i.arpTpaOff] << 24) | (b[i.arpTpaOff + 1] << 16) | (b[i.arpTpaOff + 2] << 8) | b[i.arpTpaOff + 3]) >>> 0;
  }
}
